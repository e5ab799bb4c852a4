"""Campaign scaling: ABs/min with 1 and 2 processor replicas, job reuse, peak memory per service.

    .venv/bin/python bench/campaign.py [--nights 3] [--targets 3] [--pairs 2] [--partitions 6] [--broker apache]

Set-up (not timed): `--nights` small simulated nights (2x2, blue 390 + red 580, `--targets`
stars each) in an archive folder; Apache Kafka from the Maven jars, as a scaled deployment
runs it; fetcher, qc, certifier and ingestor
started once as `phoenix service` processes sharing one data folder (SQLite ledger, file
store, job store); an MCALIB request over the nights run to the end, so every master
calibration is certified and in the archive's calibration store.

Measured, `--pairs` times, the order of the two arms alternating from pair to pair so drift
in the machine's load falls on both: the same IDP request over the same nights (every
science AB of them), with the job store emptied so every recipe really runs, processed by 1
and then by 2 processor replicas (`phoenix service processor`, PHOENIX_CONCURRENCY=1 each, so
replicas = recipe slots). A run's time is from publishing the request to the ledger showing
every AB of it final. After each 2-replica run the same request is published once more,
the job store kept: that is reprocessing an unchanged night, every recipe served by job
reuse, timed the same way and given as a fraction of the run before it. Then once more: the
first reprocessing meets a certified history that the run before it grew (QC's statistical
thresholds read it, so QC rescores), the second meets nothing changed at all, as re-verifying
an archive twice would.

Peak memory: VmHWM of every service process (/proc/<pid>/status) read before it stops, and
the largest VmRSS of an esorex recipe process seen by sampling the processors' children.

The projection to 100,000 spectra uses the measured recipe seconds per science spectrum
(scired dominates an IDP campaign: the masters are made once per night and setting).
Medians of the pairs are printed and written to bench/results/campaign.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaConsumer  # noqa: E402

from bench.report import save  # noqa: E402
from shared.archive.models import AbState  # noqa: E402
from shared.bus.publish import publish  # noqa: E402
from shared.contracts import DateRequested, ProcessingMode  # noqa: E402
from shared.resources import archive_database  # noqa: E402
from shared.settings import KafkaSettings  # noqa: E402
from tests.support.bus import env_for, started_broker  # noqa: E402
from tests.support.processes import ServiceProcess  # noqa: E402
from tools.run.progress import follow  # noqa: E402
from tools.simulator.plan import night_plan  # noqa: E402
from tools.simulator.uves import fill_archive  # noqa: E402

FIRST_NIGHT = date(2024, 3, 1)
MODE = "UVES_ECHELLE"
OTHERS = ["fetcher", "qc", "certifier", "ingestor"]
RUN_TIMEOUT_SECONDS = 900
HOP_TOPICS = ("data-staged", "products-ready", "qc-scored", "certified", "ingested")
HOSTS = (1, 2, 4, 8, 16)
CORES_PER_HOST = 16
SPECTRA = 100_000
TARGET_EFFICIENCY = 0.95
TARGET_SHARE_SCIENCE = 0.03
TARGET_SHARE_MASTERS = 0.10
TARGET_REPROCESSING_MS = 50.0
TARGET_REUSE_FRACTION = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nights", type=int, default=3)
    parser.add_argument("--targets", type=int, default=3, help="stars per night, each observed in both arms")
    parser.add_argument("--pairs", type=int, default=2, help="1-replica + 2-replica runs (default 2)")
    parser.add_argument("--partitions", type=int, default=6, help="partitions per topic (default 6)")
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the services' logs here on failure")
    parser.add_argument("--resummarise", action="store_true",
                        help="recompute the summary of bench/results/campaign.json from its runs; run nothing")
    args = parser.parse_args()
    if args.resummarise:
        results = resummarise(ROOT / "bench" / "results" / "campaign.json")
        print_table(results)
        save("campaign", results)
        return
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as folder:
        try:
            results = asyncio.run(bench(Path(folder), args))
        except BaseException:
            if args.keep_logs:
                shutil.copytree(Path(folder) / "logs", args.keep_logs, dirs_exist_ok=True)
            raise
    print_table(results)
    save("campaign", results)


async def bench(folder: Path, args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    archive = folder / "archive"
    nights = [FIRST_NIGHT + timedelta(days=n) for n in range(args.nights)]
    fill_archive(archive, (night_plan(night, "small", seed=11 + n, targets=args.targets) for n, night in enumerate(nights)))
    data = folder / "data"
    os.environ["PHOENIX_DATA_DIR"] = str(data)  # the ledger this process reads
    results: dict[str, object] = {
        "nights": len(nights), "targets_per_night": args.targets, "pairs": args.pairs, "partitions": args.partitions,
        "broker": "apache", "cores": os.cpu_count(), "load_average_before": os.getloadavg(), "runs": [], "reuse_runs": [], "reuse_again_runs": [],
    }
    memory = MemoryWatch()
    (folder / "logs").mkdir()
    with started_broker(folder / "logs") as broker:
        kafka = broker.settings(partitions=args.partitions)
        # The services' default group timing (not the tests' short one): a replica whose heartbeat is
        # late on a busy machine must not be thrown out of the group in the middle of a recipe.
        env = env_for(kafka, PHOENIX_DATA_DIR=str(data), PHOENIX_ARCHIVE_URL=str(archive),
                      PHOENIX_KAFKA_SESSION_TIMEOUT_MS="10000", PHOENIX_KAFKA_HEARTBEAT_INTERVAL_MS="3000")
        logs = folder / "logs"
        with services(OTHERS, env, logs, memory) as others, memory.sampling():
            async with archive_database() as database:

                async def timed(mode: ProcessingMode, group: dict[str, ServiceProcess]) -> dict[str, object]:
                    return await run_request(database, kafka, {**others, **group}, nights, mode)

                with processors(2, env, logs, memory, kafka) as group:
                    warm = await timed(ProcessingMode.MCALIB, group)
                results["warm_up_mcalib"] = warm
                print(f"warm-up MCALIB: {warm['abs']} ABs in {warm['seconds']:.1f} s {warm['states']}", flush=True)
                for pair in range(args.pairs):
                    for replicas in ((1, 2) if pair % 2 == 0 else (2, 1)):
                        empty_job_store(data)
                        with processors(replicas, env, logs, memory, kafka) as group:
                            run = await timed(ProcessingMode.IDP, group)
                            run["pair"] = pair
                            results["runs"].append(run)
                            print(f"pair {pair}: {replicas} replica(s): {run['abs']} ABs in {run['seconds']:.1f} s, "
                                  f"{run['abs_per_minute']:.2f} ABs/min, load {run['load_average_after'][0]:.2f}",
                                  flush=True)
                            if replicas == 2:
                                reuse = await timed(ProcessingMode.IDP, group)
                                reuse["fraction_of_first_run"] = reuse["seconds"] / run["seconds"]
                                reuse["pair"] = pair
                                results["reuse_runs"].append(reuse)
                                print(f"pair {pair}: reprocessing unchanged: {reuse['seconds']:.2f} s "
                                      f"= {100 * reuse['fraction_of_first_run']:.1f} % of the run before "
                                      f"({reuse['reused']}/{reuse['abs']} reused)", flush=True)
                                again = await timed(ProcessingMode.IDP, group)
                                again["pair"] = pair
                                results["reuse_again_runs"].append(again)
                                print(f"pair {pair}: reprocessing unchanged again: {again['seconds']:.2f} s "
                                      f"({again['reused']}/{again['abs']} reused)", flush=True)
    results["load_average_after"] = os.getloadavg()
    results["peak_rss_mb"] = memory.peaks_mb()
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    summarise(results)
    return results


def resummarise(path: Path) -> dict[str, object]:
    """The summary again from a results file's runs (after a change to what it derives)."""
    results = json.loads(path.read_text())
    for run in [*results["runs"], *results["reuse_runs"], *results.get("reuse_again_runs", []), results["warm_up_mcalib"]]:
        if "abs_in_ledger" not in run:  # written before `abs` counted only the ABs the request processed
            run["abs_in_ledger"] = run["abs"]
            run["abs"] = sum(run["abs_per_partition"].values())
            run["abs_per_minute"] = round(60 * run["abs"] / run["seconds"], 3)
        if "phoenix_cpu_seconds" not in run:  # written before the services' own CPU was kept apart
            own = run["all_services_cpu_seconds"] - run["recipe_cpu_seconds"]
            run["phoenix_cpu_seconds"] = round(own, 2)
            run["phoenix_cpu_share"] = round(own / run["recipe_cpu_seconds"], 4) if run["recipe_cpu_seconds"] else None
            run["phoenix_cpu_ms_per_ab"] = round(1000 * own / run["abs"], 1)
    summarise(results)
    return results


@contextmanager
def services(names: list[str], env: dict[str, str], logs: Path, memory: MemoryWatch,
             extra: dict[str, str] | None = None, label: str = "") -> Iterator[dict[str, ServiceProcess]]:
    started: dict[str, ServiceProcess] = {}
    try:
        for name in names:
            key = f"{name}{label}"
            started[key] = ServiceProcess(name, {**env, **(extra or {})}, logs, label=key)
        for process in started.values():
            process.wait_for_log("assigned", 120)
        yield started
    finally:
        for key, process in started.items():
            memory.read_peak(key.split("-")[0], process.process.pid)
            process.stop()


@contextmanager
def processors(replicas: int, env: dict[str, str], logs: Path, memory: MemoryWatch,
               kafka: KafkaSettings) -> Iterator[dict[str, ServiceProcess]]:
    """`replicas` processor processes, one recipe slot each, once the group has split the partitions."""
    label = f"processor-{uuid.uuid4().hex[:6]}-"
    with services([], env, logs, memory) as started:
        for n in range(replicas):
            started[f"{label}{n}"] = ServiceProcess("processor", {**env, "PHOENIX_CONCURRENCY": "1"}, logs,
                                                    label=f"{label}{n}")
        memory.watch_children([p.process.pid for p in started.values()])
        wait_for_balanced_group(list(started.values()), kafka.partitions, kafka.topic("data-staged"))
        try:
            yield started
        finally:
            memory.watch_children([])


def wait_for_balanced_group(replicas: list[ServiceProcess], partitions: int, topic: str, timeout: float = 240) -> None:
    """Until every partition of `topic` is assigned to exactly one replica and each has some."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assigned = [last_assignment(r, topic) for r in replicas]
        if all(assigned) and sum(len(a) for a in assigned) == partitions == len(set().union(*assigned)):
            return
        for replica in replicas:
            if not replica.running:
                raise RuntimeError(f"{replica.label} exited:\n{replica.log[-3000:]}")
        time.sleep(0.2)
    held = {r.label: sorted(last_assignment(r, topic)) for r in replicas}
    raise TimeoutError(f"the processor group did not settle on {partitions} partitions of {topic}: {held}")


def last_assignment(replica: ServiceProcess, topic: str) -> set[int]:
    lines = [line for line in replica.log.splitlines() if "assigned " in line]
    if not lines:
        return set()
    return {int(p) for p in re.findall(re.escape(topic) + r"\[(\d+)\]", lines[-1])}


def _fail_if_dead(services_: dict[str, ServiceProcess]) -> None:
    dead = [key for key, process in services_.items() if not process.running]
    if dead:
        raise RuntimeError(f"service(s) {', '.join(dead)} stopped; logs beside {services_[dead[0]].log_path}")


async def run_request(database, kafka: KafkaSettings, services_: dict[str, ServiceProcess], nights: list[date],
                      mode: ProcessingMode) -> dict[str, object]:
    """Publish one request over the nights; its time until the ledger shows every AB of it final."""
    topic = kafka.topic("data-staged")
    processors_ = {key: p for key, p in services_.items() if key.startswith("processor")}
    request = DateRequested(correlation_id=uuid.uuid4(), produced_by="bench-campaign", instrument_mode=MODE,
                            night=nights[0], night_to=nights[-1], mode=mode, reprocess=True)
    load_before = os.getloadavg()
    cpu_before = sum(_children_cpu_seconds(p.process.pid) for p in processors_.values())
    all_cpu_before = sum(_cpu_seconds(p.process.pid) for p in services_.values())
    own_cpu_before = {key: _own_cpu_seconds(p.process.pid) for key, p in services_.items()}
    assignments_before = sum(_log_count(p, "assigned ") for p in processors_.values())
    handed_back_before = sum(_log_count(p, "handing back") for p in processors_.values())
    published_at = time.time()
    started = time.perf_counter()
    await publish(kafka, [request])
    progress = await follow(database, request.request_id, lambda: _fail_if_dead(services_), RUN_TIMEOUT_SECONDS)
    seconds = time.perf_counter() - started
    recipe_cpu = sum(_children_cpu_seconds(p.process.pid) for p in processors_.values()) - cpu_before
    all_cpu = sum(_cpu_seconds(p.process.pid) for p in services_.values()) - all_cpu_before
    own_cpu: dict[str, float] = {}
    for key, process in services_.items():
        service = key.split("-")[0]
        own_cpu[service] = own_cpu.get(service, 0.0) + _own_cpu_seconds(process.process.pid) - own_cpu_before[key]
    events = await request_events(kafka, request.request_id)
    ready = events["products-ready"]
    assignment = {key: sorted(last_assignment(p, topic)) for key, p in processors_.items()}
    states = dict(progress.states)
    # A recipe ran on the replica holding the partition its AB's data-staged event was on.
    staged_on = {d["ab"]["ab_id"]: p for p, d in events["data-staged"]}
    busy = {key: sum(r["duration_seconds"] for _, r in ready if staged_on.get(r["ab"]["ab_id"]) in parts and not r["reused"])
            for key, parts in assignment.items()}
    # The ABs this request sent to the processor; the ledger also follows the nights' other ABs
    # (the masters made by the warm-up), which are final already.
    processed = len(events["data-staged"])
    run: dict[str, object] = {
        "mode": mode.value, "replicas": len(processors_), "abs": processed, "abs_in_ledger": len(progress.abs),
        "states": states, "seconds": round(seconds, 3), "abs_per_minute": round(60 * processed / seconds, 3),
        "reused": sum(1 for _, r in ready if r["reused"]),
        "recipe_seconds_total": round(sum(r["duration_seconds"] for _, r in ready if not r["reused"]), 3),
        "recipe_seconds_by_ab": _by_recipe(ready),
        "recipe_cpu_seconds": round(recipe_cpu, 2),
        "all_services_cpu_seconds": round(all_cpu, 2),
        "phoenix_cpu_seconds": round(all_cpu - recipe_cpu, 2),
        "phoenix_cpu_share": round((all_cpu - recipe_cpu) / recipe_cpu, 4) if recipe_cpu else None,
        "phoenix_cpu_ms_per_ab": round(1000 * (all_cpu - recipe_cpu) / processed, 1) if processed else None,
        "phoenix_cpu_seconds_by_service": {service: round(cpu, 3) for service, cpu in sorted(own_cpu.items())},
        "spectra": sum(1 for _, r in ready for p in r["products"] if p["kind"] == "IDP"),
        "recipe_seconds_per_replica": {k: round(v, 3) for k, v in busy.items()},
        "partitions_per_replica": assignment,
        "abs_per_partition": {str(n): sum(1 for p in staged_on.values() if p == n) for n in range(kafka.partitions)},
        "rebalances_during_run": sum(_log_count(p, "assigned ") for p in processors_.values()) - assignments_before,
        "handed_back_during_run": sum(_log_count(p, "handing back") for p in processors_.values()) - handed_back_before,
        "seconds_by_service": hop_seconds(events, published_at),
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
    }
    if mode is ProcessingMode.IDP and set(states) != {AbState.INGESTED.value}:
        run["warning"] = f"not every AB was ingested: {states}"
    return run


def _log_count(process: ServiceProcess, text: str) -> int:
    return sum(1 for line in process.log.splitlines() if text in line)


def _by_recipe(ready: list[tuple[int, dict]]) -> dict[str, list[float]]:
    by: dict[str, list[float]] = {}
    for _, r in ready:
        if not r["reused"]:
            by.setdefault(f"{r['ab']['recipe']} {r['ab']['raw_type']}", []).append(round(r["duration_seconds"], 3))
    return by


async def request_events(kafka: KafkaSettings, request_id: uuid.UUID) -> dict[str, list[tuple[int, dict]]]:
    """(partition, document) of every event of the request, by topic (the last one per AB)."""
    consumer = AIOKafkaConsumer(*(kafka.topic(t) for t in HOP_TOPICS), bootstrap_servers=kafka.bootstrap_servers,
                                auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await consumer.start()
    found: dict[str, dict[str, tuple[int, dict]]] = {topic: {} for topic in HOP_TOPICS}
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            if not batch:
                break
            for records in batch.values():
                for record in records:
                    document = json.loads(record.value)
                    if document["correlation_id"] == str(request_id):
                        topic = record.topic.removeprefix(kafka.topic_prefix)
                        found[topic][document["ab"]["ab_id"]] = (record.partition, document)
    finally:
        await consumer.stop()
    return {topic: list(by_ab.values()) for topic, by_ab in found.items()}


def hop_seconds(events: dict[str, list[tuple[int, dict]]], published_at: float) -> dict[str, float]:
    """Median seconds per AB spent in each service (its output's produced_at minus its input's)."""
    at = {topic: {d["ab"]["ab_id"]: _time(d) for _, d in docs} for topic, docs in events.items()}
    staged = at["data-staged"]
    hops = {"fetcher (request → last data-staged)": max(staged.values(), default=published_at) - published_at}
    for source, target in zip(HOP_TOPICS[:-1], HOP_TOPICS[1:], strict=True):
        delays = [at[target][ab] - at[source][ab] for ab in at[target] if ab in at[source]]
        if delays:
            hops[f"{source} → {target} (median per AB)"] = statistics.median(delays)
    return {hop: round(seconds, 3) for hop, seconds in hops.items()}


def _time(document: dict) -> float:
    return datetime.fromisoformat(document["produced_at"]).timestamp()


def empty_job_store(data: Path) -> None:
    """Forget finished jobs, so every recipe of the next run really runs (no processor is running)."""
    shutil.rmtree(data / "store" / "jobs", ignore_errors=True)


class MemoryWatch:
    """Peak resident memory: VmHWM of service processes, sampled VmRSS of their recipe children."""

    def __init__(self) -> None:
        self._peaks: dict[str, int] = {}
        self._parents: list[int] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def read_peak(self, name: str, pid: int) -> None:
        kib = _status_kib(pid, "VmHWM")
        if kib is not None:
            with self._lock:
                self._peaks[name] = max(self._peaks.get(name, 0), kib)

    def watch_children(self, pids: list[int]) -> None:
        self._parents = pids

    @contextmanager
    def sampling(self, interval: float = 0.2) -> Iterator[None]:
        thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()

    def _sample(self, interval: float) -> None:
        while not self._stop.wait(interval):
            for parent in list(self._parents):
                for child in _children(parent):
                    kib = _status_kib(child, "VmRSS")
                    if kib is not None and _name(child) == "esorex":
                        with self._lock:
                            self._peaks["esorex (recipe)"] = max(self._peaks.get("esorex (recipe)", 0), kib)

    def peaks_mb(self) -> dict[str, float]:
        return {name: round(kib / 1024, 1) for name, kib in sorted(self._peaks.items())}


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _children_cpu_seconds(pid: int) -> float:
    """User + system CPU of the finished children a process has waited for (its recipes)."""
    return _stat_cpu_seconds(pid, 13, 14)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of the children it has waited for."""
    return _stat_cpu_seconds(pid, 11, 12, 13, 14)


def _own_cpu_seconds(pid: int) -> float:
    """User + system CPU of a service process itself (a processor's recipes are its children)."""
    return _stat_cpu_seconds(pid, 11, 12)


def _stat_cpu_seconds(pid: int, *indices: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name, state (field 3) is at 0: utime, stime, cutime, cstime are at 11 to 14.
    return sum(int(fields[i]) for i in indices) / os.sysconf("SC_CLK_TCK")


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        return children
    return children + [grandchild for child in children for grandchild in _children(child)]


def summarise(results: dict[str, object]) -> None:
    runs = results["runs"]
    one = [r for r in runs if r["replicas"] == 1]
    two = [r for r in runs if r["replicas"] == 2]
    speedups = [b["abs_per_minute"] / a["abs_per_minute"] for a, b in zip(one, two, strict=True)]
    efficiency = statistics.median(s / 2 for s in speedups)
    spectra = statistics.median(r["spectra"] for r in one)
    recipe_per_spectrum = statistics.median(r["recipe_seconds_total"] / r["spectra"] for r in one if r["spectra"])
    cpu_per_spectrum = statistics.median(r["recipe_cpu_seconds"] / r["spectra"] for r in runs if r["spectra"])
    all_cpu = [r["all_services_cpu_seconds"] / r["spectra"] for r in runs if r["spectra"] and "all_services_cpu_seconds" in r]
    all_cpu_per_spectrum = statistics.median(all_cpu) if all_cpu else None
    wall_per_spectrum = statistics.median(r["seconds"] / r["spectra"] for r in one if r["spectra"])
    reuse = statistics.median(r["fraction_of_first_run"] for r in results["reuse_runs"])
    reuse_vs_one = [r["seconds"] / a["seconds"] for r in results["reuse_runs"] for a in one if a["pair"] == r["pair"]]
    shares = [r["phoenix_cpu_share"] for r in runs if r.get("phoenix_cpu_share") is not None]
    reuse_ms = [r["phoenix_cpu_ms_per_ab"] for r in results["reuse_runs"] if r.get("phoenix_cpu_ms_per_ab") is not None]
    again_runs = results.get("reuse_again_runs", [])
    again_ms = [r["phoenix_cpu_ms_per_ab"] for r in again_runs if r.get("phoenix_cpu_ms_per_ab") is not None]
    masters = results["warm_up_mcalib"]
    results["summary"] = {
        "phoenix_cpu_share_science": round(statistics.median(shares), 4) if shares else None,
        "phoenix_cpu_share_science_target": TARGET_SHARE_SCIENCE,
        "phoenix_cpu_share_masters": masters.get("phoenix_cpu_share"),
        "phoenix_cpu_share_masters_target": TARGET_SHARE_MASTERS,
        "phoenix_cpu_ms_per_ab_science": statistics.median(r["phoenix_cpu_ms_per_ab"] for r in runs)
        if all(r.get("phoenix_cpu_ms_per_ab") is not None for r in runs) else None,
        "phoenix_cpu_ms_per_ab_masters": masters.get("phoenix_cpu_ms_per_ab"),
        "reprocessing_cpu_ms_per_ab": statistics.median(reuse_ms) if reuse_ms else None,
        "reprocessing_cpu_ms_per_ab_target": TARGET_REPROCESSING_MS,
        "reprocessing_cpu_ms_per_ab_by_service": {
            service: round(1000 * cpu / results["reuse_runs"][-1]["abs"], 1)
            for service, cpu in results["reuse_runs"][-1].get("phoenix_cpu_seconds_by_service", {}).items()},
        "reprocessing_again_cpu_ms_per_ab": statistics.median(again_ms) if again_ms else None,
        "reprocessing_again_cpu_ms_per_ab_by_service": {
            service: round(1000 * cpu / again_runs[-1]["abs"], 1)
            for service, cpu in again_runs[-1].get("phoenix_cpu_seconds_by_service", {}).items()} if again_runs else {},
        "abs_per_run": statistics.median(r["abs"] for r in runs),
        "spectra_per_run": spectra,
        "abs_per_minute_1_replica": statistics.median(r["abs_per_minute"] for r in one),
        "abs_per_minute_2_replicas": statistics.median(r["abs_per_minute"] for r in two),
        "speedups": [round(s, 3) for s in speedups],
        "efficiency": round(efficiency, 3),
        "efficiency_target": TARGET_EFFICIENCY,
        "efficiency_met": efficiency >= TARGET_EFFICIENCY,
        "load_balance_2_replicas": [_balance(r) for r in two],
        "efficiency_bound_by_partition_split": round(statistics.median(1 / _balance(r) for r in two), 3),
        "recipe_slowdown_2_vs_1": [round(b["recipe_seconds_total"] / a["recipe_seconds_total"], 3)
                                   for a, b in zip(one, two, strict=True)],
        "reuse_fraction": round(reuse, 4),
        "reuse_fraction_target": TARGET_REUSE_FRACTION,
        "reuse_fraction_met": reuse < TARGET_REUSE_FRACTION,
        "reuse_fraction_of_1_replica_run": round(statistics.median(reuse_vs_one), 4),
        "reuse_seconds": statistics.median(r["seconds"] for r in results["reuse_runs"]),
        "reuse_seconds_by_service": results["reuse_runs"][-1]["seconds_by_service"],
        "recipe_seconds_per_spectrum": round(recipe_per_spectrum, 3),
        "recipe_cpu_seconds_per_spectrum": round(cpu_per_spectrum, 3),
        "all_services_cpu_seconds_per_spectrum": round(all_cpu_per_spectrum, 3) if all_cpu_per_spectrum else None,
        "wall_seconds_per_spectrum_1_replica": round(wall_per_spectrum, 3),
        "projection": projection(cpu_per_spectrum, efficiency),
        "projection_all_services": projection(
            all_cpu_per_spectrum, efficiency,
            "CPU of all five service processes and their children (staging, recipes, SDP conversion, QC, "
            "certification, ingestion) per spectrum, instead of scired alone") if all_cpu_per_spectrum else None,
    }


def _balance(run: dict[str, object]) -> float:
    """Busiest replica's recipe seconds over the mean: 1.0 is a perfect split."""
    busy = list(run["recipe_seconds_per_replica"].values())
    return round(max(busy) / statistics.mean(busy), 3) if busy and statistics.mean(busy) else float("nan")


def projection(cpu_seconds_per_spectrum: float, efficiency: float, cost: str = "scired") -> dict[str, object]:
    cpu_hours = SPECTRA * cpu_seconds_per_spectrum / 3600
    return {
        "spectra": SPECTRA,
        "cost": cost,
        "cpu_seconds_per_spectrum": round(cpu_seconds_per_spectrum, 3),
        "cores_per_host": CORES_PER_HOST,
        "assumptions": (
            "one recipe per core (PHOENIX_CONCURRENCY = cores, OMP_NUM_THREADS=1); the per-spectrum cost is the "
            "measured CPU seconds (user + system) of the esorex uves_obs_scired runs per SDP spectrum, median "
            "over the runs, on this machine's small simulated 2x2 nights; CPU time, unlike wall time, hardly "
            "moves with other load on the machine; masters are made once per night and setting, so scired "
            "dominates; staging, QC and ingestion overlap with recipes on other cores; hosts scale like the 2 "
            "measured replicas (the measured efficiency) or perfectly (ideal)"
        ),
        "cpu_hours": round(cpu_hours, 1),
        "hours_by_hosts": {
            str(n): {"ideal": round(cpu_hours / (n * CORES_PER_HOST), 2),
                     "at_measured_efficiency": round(cpu_hours / (n * CORES_PER_HOST * efficiency), 2)}
            for n in HOSTS
        },
    }


def print_table(results: dict[str, object]) -> None:
    s = results["summary"]
    print(f"\ncampaign: {results['nights']} small nights, {s['abs_per_run']} science ABs ({s['spectra_per_run']} spectra) "
          f"per run, medians of {results['pairs']} pairs, {results['cores']} cores, "
          f"load {results['load_average_before'][0]:.2f} → {results['load_average_after'][0]:.2f}")
    print(f"{'ABs/min, 1 processor replica':44}{s['abs_per_minute_1_replica']:10.2f}")
    print(f"{'ABs/min, 2 processor replicas':44}{s['abs_per_minute_2_replicas']:10.2f}")
    print(f"{'efficiency (speed-up / replicas)':44}{s['efficiency']:10.3f}  target ≥ {TARGET_EFFICIENCY}: "
          f"{'met' if s['efficiency_met'] else 'missed'}  (speed-ups {s['speedups']}, "
          f"load balance {s['load_balance_2_replicas']} so at most {s['efficiency_bound_by_partition_split']}, "
          f"recipe slowdown {s['recipe_slowdown_2_vs_1']})")
    print(f"{'job reuse, fraction of the first run':44}{s['reuse_fraction']:10.4f}  target < {TARGET_REUSE_FRACTION}: "
          f"{'met' if s['reuse_fraction_met'] else 'missed'}  ({s['reuse_seconds']:.2f} s: "
          + ", ".join(f"{k} {v}" for k, v in s["reuse_seconds_by_service"].items()) + ")")
    if s.get("phoenix_cpu_share_science") is not None:
        print(f"{'phoenix CPU ÷ recipe CPU, science / masters':44}{s['phoenix_cpu_share_science']:10.4f} / "
              f"{s['phoenix_cpu_share_masters']:.4f}  targets ≤ {TARGET_SHARE_SCIENCE} / ≤ {TARGET_SHARE_MASTERS}")
        print(f"{'reprocessing unchanged, CPU ms per AB':44}{s['reprocessing_cpu_ms_per_ab']:10.1f}  target ≤ "
              f"{TARGET_REPROCESSING_MS:.0f}  (" + ", ".join(
                  f"{k} {v}" for k, v in s["reprocessing_cpu_ms_per_ab_by_service"].items()) + ")")
        if s.get("reprocessing_again_cpu_ms_per_ab") is not None:
            print(f"{'reprocessing unchanged again, CPU ms per AB':44}{s['reprocessing_again_cpu_ms_per_ab']:10.1f}  ("
                  + ", ".join(f"{k} {v}" for k, v in s["reprocessing_again_cpu_ms_per_ab_by_service"].items()) + ")")
    print(f"{'recipe wall / CPU seconds per spectrum':44}{s['recipe_seconds_per_spectrum']:10.2f} / "
          f"{s['recipe_cpu_seconds_per_spectrum']:.2f}")
    print("peak RSS [MB]: " + ", ".join(f"{k} {v}" for k, v in results["peak_rss_mb"].items()))
    p = s["projection"]
    for p in (s["projection"], s.get("projection_all_services")):
        if p:
            print(f"100,000 spectra, {p['cost'][:40]}: {p['cpu_seconds_per_spectrum']} CPU s each, {p['cpu_hours']} CPU h; "
                  "on N × 16-core hosts [h]: " + ", ".join(
                      f"{n}: {h['at_measured_efficiency']} (ideal {h['ideal']})" for n, h in p["hours_by_hosts"].items()))


if __name__ == "__main__":
    main()
