"""Turn an OCA condition tree into a fast predicate over header keywords.

A predicate is called as `predicate(record, input_file, missing)`: `record` maps the keywords
of the file under test (dotted ESO names plus plain FITS keys), `input_file` those of the raw
input file in association rules (empty for classification), and `missing` collects the names
of keywords the condition asked for and did not find.

Semantics:
- a comparison, `like` or `is string` on a missing keyword is false (never an error);
  `not` is plain boolean negation of that false;
- a number against a string compares numerically when the string reads as a number,
  otherwise the comparison is false; two strings compare as strings, case-sensitively;
- `like` matches strings only; `%` stands for any run of characters (`_` is literal, as ESO's
  rule files use it inside category names), and matching is case-sensitive: uves.oca keeps
  separate `%test%` and `%TEST%` rules with different outcomes, and `%OzPoz%`, `%SimCal%`
  are written in the case FLAMES headers use.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from services.fetcher.oca import And, Comparison, Condition, Constant, IsString, Keyword, Like, Not, Operand, Or

Predicate = Callable[[Mapping[str, Any], Mapping[str, Any], list[str]], bool]
_Reader = Callable[[Mapping[str, Any], Mapping[str, Any], list[str]], Any]

MISSING: Any = object()

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def compile_condition(condition: Condition) -> Predicate:
    match condition:
        case And(operands):
            return _all_of(tuple(compile_condition(operand) for operand in operands))
        case Or(operands):
            return _any_of(tuple(compile_condition(operand) for operand in operands))
        case Not(operand):
            return _negation(compile_condition(operand))
        case Like(keyword, pattern):
            return _like(keyword, like_matcher(pattern))
        case IsString(keyword):
            return _is_string(keyword)
        case Comparison(left, operator_text, right):
            return _comparison(left, _OPERATORS[operator_text], right)
    raise TypeError(f"not an OCA condition: {condition!r}")


def keywords_in(condition: Condition) -> Iterator[Keyword]:
    match condition:
        case And(operands) | Or(operands):
            for operand in operands:
                yield from keywords_in(operand)
        case Not(operand):
            yield from keywords_in(operand)
        case Like(keyword) | IsString(keyword):
            yield keyword
        case Comparison(left, _, right):
            yield from (operand for operand in (left, right) if isinstance(operand, Keyword))


def like_matcher(pattern: str) -> Callable[[str], bool]:
    """A string test for an SQL-like pattern, using plain string methods for the common shapes."""
    inner = pattern[1:-1]
    if "%" not in pattern:
        return pattern.__eq__
    if len(pattern) >= 2 and pattern[0] == pattern[-1] == "%" and "%" not in inner:
        return lambda value: inner in value
    if pattern.count("%") == 1 and pattern.endswith("%"):
        prefix = pattern[:-1]
        return lambda value: value.startswith(prefix)
    if pattern.count("%") == 1 and pattern.startswith("%"):
        suffix = pattern[1:]
        return lambda value: value.endswith(suffix)
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split("%")), re.DOTALL)
    return lambda value: regex.fullmatch(value) is not None


def _all_of(predicates: tuple[Predicate, ...]) -> Predicate:
    def evaluate(record: Mapping[str, Any], input_file: Mapping[str, Any], missing: list[str]) -> bool:
        for predicate in predicates:
            if not predicate(record, input_file, missing):
                return False
        return True

    return evaluate


def _any_of(predicates: tuple[Predicate, ...]) -> Predicate:
    def evaluate(record: Mapping[str, Any], input_file: Mapping[str, Any], missing: list[str]) -> bool:
        for predicate in predicates:
            if predicate(record, input_file, missing):
                return True
        return False

    return evaluate


def _negation(predicate: Predicate) -> Predicate:
    return lambda record, input_file, missing: not predicate(record, input_file, missing)


def _keyword_reader(keyword: Keyword) -> _Reader:
    name, label, from_input_file = keyword.name, str(keyword), keyword.of_input_file

    def read(record: Mapping[str, Any], input_file: Mapping[str, Any], missing: list[str]) -> Any:
        value = (input_file if from_input_file else record).get(name, MISSING)
        if value is MISSING:
            missing.append(label)
        return value

    return read


def _operand_reader(operand: Operand) -> _Reader:
    if isinstance(operand, Keyword):
        return _keyword_reader(operand)
    value = operand.value
    return lambda record, input_file, missing: value


def _like(keyword: Keyword, matches: Callable[[str], bool]) -> Predicate:
    read = _keyword_reader(keyword)

    def evaluate(record: Mapping[str, Any], input_file: Mapping[str, Any], missing: list[str]) -> bool:
        value = read(record, input_file, missing)
        return isinstance(value, str) and matches(value)

    return evaluate


def _is_string(keyword: Keyword) -> Predicate:
    read = _keyword_reader(keyword)
    return lambda record, input_file, missing: isinstance(read(record, input_file, missing), str)


def _comparison(left: Operand, compare: Callable[[Any, Any], bool], right: Operand) -> Predicate:
    if isinstance(left, Keyword) and isinstance(right, Constant):
        return _keyword_against_constant(left, compare, right.value)
    read_left, read_right = _operand_reader(left), _operand_reader(right)

    def evaluate(record: Mapping[str, Any], input_file: Mapping[str, Any], missing: list[str]) -> bool:
        a, b = read_left(record, input_file, missing), read_right(record, input_file, missing)
        return a is not MISSING and b is not MISSING and compare_values(a, compare, b)

    return evaluate


def _keyword_against_constant(keyword: Keyword, compare: Callable[[Any, Any], bool], constant: Any) -> Predicate:
    # The shape of nearly every classification test (`DET.CHIPS == 1`), so it skips the
    # generic operand readers.
    read = _keyword_reader(keyword)
    constant_type = type(constant)

    def evaluate(record: Mapping[str, Any], input_file: Mapping[str, Any], missing: list[str]) -> bool:
        value = read(record, input_file, missing)
        if value is MISSING:
            return False
        if type(value) is constant_type:
            return compare(value, constant)
        return compare_values(value, compare, constant)

    return evaluate


def compare_values(a: Any, compare: Callable[[Any, Any], bool], b: Any) -> bool:
    if isinstance(a, str) != isinstance(b, str):
        a, b = _as_number(a), _as_number(b)
        if a is None or b is None:
            return False
    try:
        return compare(a, b)
    except TypeError:
        return False


def _as_number(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return float(value)
    except ValueError:
        return None
