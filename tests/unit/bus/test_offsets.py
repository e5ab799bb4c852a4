from shared.bus.offsets import PartitionOffsets


def test_nothing_seen_commits_nothing() -> None:
    assert PartitionOffsets().committable() is None


def test_commits_up_to_the_lowest_offset_in_flight() -> None:
    offsets = PartitionOffsets()
    for offset in (10, 11, 12):
        offsets.started(offset)
    offsets.finished(11)
    assert offsets.committable() == 10
    offsets.finished(10)
    assert offsets.committable() == 12
    offsets.finished(12)
    assert offsets.committable() == 13


def test_does_not_commit_the_same_offset_twice() -> None:
    offsets = PartitionOffsets()
    offsets.started(0)
    offsets.finished(0)
    offsets.committed = offsets.committable()
    assert offsets.committable() is None
    offsets.started(1)
    assert offsets.committable() is None, "offset 1 is still in flight"
