"""ESO's OCA rule language (Organisation, Classification, Association): tokens, syntax tree, parser.

An OCA file is a sequence of statements:

- classification  `if <condition> then { DO.CATG = "BIAS_BLUE"; ... }`
- organisation    `select execute(ACTION) from inputFiles where <condition>
                   [group by KEY, KEY ... [as (TPL_A, tpl)]];`
- association     `action NAME { minRet = 1; maxRet = 1;
                   select file as TAG from calibFiles where <condition>;
                   recipe name [{ "--param=value"; ... }]; product NAME { PRO.CATG = "X"; } }`
- `minRet = N;` / `maxRet = N;` set the file counts of the next `select` (inside an action) or
  of the next organisation rule (outside one: uves.oca asks for 3 fibre flats that way).

Conditions: `or` < `and` < `not` < comparisons (`== != < > <= >=`, `like "%pattern%"`,
`is string`), parentheses, string and number literals. Keywords are written dotted
(`DPR.CATG` is the FITS card `HIERARCH ESO DPR CATG`) or plain (`MJD-OBS`); in association
conditions `inputFile.KEY` is the raw input file's keyword, `KEY` the candidate's.
Comments run from `//` to the end of the line, or between `/*` and `*/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

from shared.errors import ConfigError

Value: TypeAlias = str | int | float
ComparisonOperator: TypeAlias = Literal["==", "!=", "<", ">", "<=", ">="]

INPUT_FILE_PREFIX = "inputFile."
FILE_SETS = frozenset({"inputFiles", "calibFiles", "rawFiles"})


# --- syntax tree -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Keyword:
    """A header keyword in dotted OCA form; `of_input_file` for `inputFile.KEY` in associations."""

    name: str
    of_input_file: bool = False

    def __str__(self) -> str:
        return INPUT_FILE_PREFIX + self.name if self.of_input_file else self.name


@dataclass(frozen=True, slots=True)
class Constant:
    value: Value


Operand: TypeAlias = Keyword | Constant


@dataclass(frozen=True, slots=True)
class Comparison:
    left: Operand
    operator: ComparisonOperator
    right: Operand


@dataclass(frozen=True, slots=True)
class Like:
    """SQL-like match: `%` stands for any run of characters; matching is case-sensitive."""

    keyword: Keyword
    pattern: str


@dataclass(frozen=True, slots=True)
class IsString:
    keyword: Keyword


@dataclass(frozen=True, slots=True)
class Not:
    operand: Condition


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Condition, ...]


Condition: TypeAlias = Comparison | Like | IsString | Not | And | Or


@dataclass(frozen=True, slots=True)
class Assignment:
    keyword: str
    value: Value


@dataclass(frozen=True, slots=True)
class ClassificationRule:
    condition: Condition
    assignments: tuple[Assignment, ...]
    line: int


@dataclass(frozen=True, slots=True)
class FileCount:
    """`minRet`/`maxRet` in force for one selection; None where the file does not say."""

    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True, slots=True)
class OrganisationRule:
    """Files matching `condition` are grouped by `group_by` and each group runs `action`."""

    action: str
    file_set: str
    condition: Condition
    group_by: tuple[str, ...]
    group_alias: tuple[str, ...]
    count: FileCount
    line: int


@dataclass(frozen=True, slots=True)
class Selection:
    """`select file as TAG from calibFiles where ...`: the files an action needs under a tag."""

    tag: str
    file_set: str
    condition: Condition
    count: FileCount
    line: int


@dataclass(frozen=True, slots=True)
class Recipe:
    name: str
    parameters: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    assignments: tuple[Assignment, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    selections: tuple[Selection, ...]
    recipe: Recipe | None
    products: tuple[Product, ...]
    line: int


@dataclass(frozen=True, slots=True)
class OcaRules:
    """Everything one OCA file declares, in file order within each kind."""

    source: str
    classification: tuple[ClassificationRule, ...]
    organisation: tuple[OrganisationRule, ...]
    actions: dict[str, Action]


# --- tokens ----------------------------------------------------------------------------------

TokenKind: TypeAlias = Literal["name", "string", "number", "symbol", "end"]

_TOKEN_PATTERNS = (
    ("space", r"[ \t\r\n]+|//[^\n]*|/\*.*?\*/"),
    ("string", r'"[^"\n]*"'),
    ("number", r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"),
    # Keywords may hold dots and inner hyphens: DPR.CATG, MJD-OBS, inputFile.DET.WIN1.BINX.
    ("name", r"[A-Za-z_][A-Za-z0-9_]*(?:[.-][A-Za-z0-9_]+)*"),
    ("symbol", r"==|!=|<=|>=|[<>=(){};,]"),
)
_TOKEN_RE = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _TOKEN_PATTERNS), re.S)


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    line: int
    column: int

    def describe(self) -> str:
        return "end of file" if self.kind == "end" else repr(self.text)


def tokenize(text: str, source: str) -> list[Token]:
    tokens: list[Token] = []
    line, line_start, position = 1, 0, 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            column = position - line_start + 1
            raise ConfigError(f"{source}:{line}:{column}: {_unreadable(text, position)}")
        kind, token_text = match.lastgroup, match.group()
        if kind != "space":
            tokens.append(Token(kind, token_text, line, position - line_start + 1))  # type: ignore[arg-type]
        newlines = token_text.count("\n")
        if newlines:
            line += newlines
            line_start = position + token_text.rindex("\n") + 1
        position = match.end()
    tokens.append(Token("end", "", line, position - line_start + 1))
    return tokens


def _unreadable(text: str, position: int) -> str:
    if text[position] == '"':
        return "unterminated string (strings end on the same line)"
    if text.startswith("/*", position):
        return "unterminated comment"
    return f"unexpected character {text[position]!r}"


# --- parser ----------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, tokens: list[Token], source: str) -> None:
        self._tokens = tokens
        self._position = 0
        self._source = source

    # token helpers

    def _peek(self) -> Token:
        return self._tokens[self._position]

    def _next(self) -> Token:
        token = self._tokens[self._position]
        if token.kind != "end":
            self._position += 1
        return token

    def _at(self, text: str) -> bool:
        token = self._peek()
        return token.kind in ("name", "symbol") and token.text == text

    def _accept(self, text: str) -> bool:
        if self._at(text):
            self._next()
            return True
        return False

    def _expect(self, text: str) -> Token:
        if not self._at(text):
            raise self._error(f"{text!r}")
        return self._next()

    def _expect_kind(self, kind: TokenKind, what: str) -> Token:
        if self._peek().kind != kind:
            raise self._error(what)
        return self._next()

    def _error(self, expected: str) -> ConfigError:
        token = self._peek()
        return ConfigError(
            f"{self._source}:{token.line}:{token.column}: expected {expected} but found {token.describe()}"
        )

    # statements

    def parse_file(self) -> OcaRules:
        classification: list[ClassificationRule] = []
        organisation: list[OrganisationRule] = []
        actions: dict[str, Action] = {}
        count = FileCount()
        while self._peek().kind != "end":
            if self._at("if"):
                classification.append(self._classification_rule())
            elif self._at("select"):
                organisation.append(self._organisation_rule(count))
                count = FileCount()
            elif self._at("minRet") or self._at("maxRet"):
                count = self._file_count(count)
            elif self._at("action"):
                action = self._action()
                if action.name in actions:
                    raise ConfigError(
                        f"{self._source}:{action.line}: action {action.name} is already defined "
                        f"at line {actions[action.name].line}"
                    )
                actions[action.name] = action
            elif not self._accept(";"):
                raise self._error("'if', 'select', 'action', 'minRet' or 'maxRet'")
        self._check_actions_exist(organisation, actions)
        return OcaRules(self._source, tuple(classification), tuple(organisation), actions)

    def _check_actions_exist(self, organisation: list[OrganisationRule], actions: dict[str, Action]) -> None:
        for rule in organisation:
            if rule.action not in actions:
                raise ConfigError(f"{self._source}:{rule.line}: execute({rule.action}) names no action in this file")

    def _classification_rule(self) -> ClassificationRule:
        line = self._expect("if").line
        condition = self._condition()
        self._expect("then")
        return ClassificationRule(condition, self._assignment_block(), line)

    def _assignment_block(self) -> tuple[Assignment, ...]:
        self._expect("{")
        assignments = []
        while not self._accept("}"):
            keyword = self._expect_kind("name", "a keyword to assign or '}'").text
            self._expect("=")
            value = self._literal()
            self._expect(";")
            assignments.append(Assignment(keyword, value))
        return tuple(assignments)

    def _organisation_rule(self, count: FileCount) -> OrganisationRule:
        line = self._expect("select").line
        self._expect("execute")
        self._expect("(")
        action = self._expect_kind("name", "an action name").text
        self._expect(")")
        file_set, condition = self._from_where()
        group_by: tuple[str, ...] = ()
        group_alias: tuple[str, ...] = ()
        if self._accept("group"):
            self._expect("by")
            group_by = self._name_list("a keyword to group by")
            if self._accept("as"):
                self._expect("(")
                group_alias = self._name_list("a group name")
                self._expect(")")
        self._expect(";")
        return OrganisationRule(action, file_set, condition, group_by, group_alias, count, line)

    def _from_where(self) -> tuple[str, Condition]:
        self._expect("from")
        token = self._peek()
        if token.kind != "name" or token.text not in FILE_SETS:
            raise self._error("one of " + ", ".join(sorted(FILE_SETS)))
        self._next()
        self._expect("where")
        return token.text, self._condition()

    def _name_list(self, what: str) -> tuple[str, ...]:
        names = [self._expect_kind("name", what).text]
        while self._accept(","):
            names.append(self._expect_kind("name", what).text)
        return tuple(names)

    def _file_count(self, count: FileCount) -> FileCount:
        which = self._next().text
        self._expect("=")
        if not self._peek().text.isdigit():
            raise self._error("a whole number")
        number = int(self._next().text)
        self._expect(";")
        if which == "minRet":
            return FileCount(number, count.maximum)
        return FileCount(count.minimum, number)

    def _action(self) -> Action:
        line = self._expect("action").line
        name = self._expect_kind("name", "an action name").text
        self._expect("{")
        selections: list[Selection] = []
        products: list[Product] = []
        recipe: Recipe | None = None
        count = FileCount()
        while not self._accept("}"):
            if self._at("minRet") or self._at("maxRet"):
                count = self._file_count(count)
            elif self._at("select"):
                selections.append(self._selection(count))
                count = FileCount()
            elif self._at("recipe"):
                recipe = self._recipe()
            elif self._at("product"):
                products.append(self._product())
            elif not self._accept(";"):
                raise self._error("'minRet', 'maxRet', 'select', 'recipe', 'product' or '}'")
        return Action(name, tuple(selections), recipe, tuple(products), line)

    def _selection(self, count: FileCount) -> Selection:
        line = self._expect("select").line
        self._expect("file")
        self._expect("as")
        tag = self._expect_kind("name", "a tag").text
        file_set, condition = self._from_where()
        self._expect(";")
        return Selection(tag, file_set, condition, count, line)

    def _recipe(self) -> Recipe:
        line = self._expect("recipe").line
        name = self._expect_kind("name", "a recipe name").text
        parameters = []
        if self._accept("{"):
            while not self._accept("}"):
                parameters.append(self._expect_kind("string", "a quoted recipe parameter or '}'").text[1:-1])
                self._expect(";")
        else:
            self._expect(";")
        return Recipe(name, tuple(parameters), line)

    def _product(self) -> Product:
        line = self._expect("product").line
        name = self._expect_kind("name", "a product name").text
        assignments = () if self._accept(";") else self._assignment_block()
        return Product(name, assignments, line)

    # conditions

    def _condition(self) -> Condition:
        operands = [self._conjunction()]
        while self._accept("or"):
            operands.append(self._conjunction())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _conjunction(self) -> Condition:
        operands = [self._negation()]
        while self._accept("and"):
            operands.append(self._negation())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _negation(self) -> Condition:
        if self._accept("not"):
            return Not(self._negation())
        return self._primary()

    def _primary(self) -> Condition:
        if self._accept("("):
            condition = self._condition()
            self._expect(")")
            return condition
        left = self._operand()
        if self._at("like"):
            keyword = self._keyword_before(left, self._next())
            return Like(keyword, self._expect_kind("string", "a quoted pattern after 'like'").text[1:-1])
        if self._at("is"):
            keyword = self._keyword_before(left, self._next())
            self._expect("string")
            return IsString(keyword)
        token = self._peek()
        if token.kind != "symbol" or token.text not in ("==", "!=", "<", ">", "<=", ">="):
            raise self._error("a comparison ('==', '!=', '<', '>', '<=', '>=', 'like', 'is string')")
        self._next()
        return Comparison(left, token.text, self._operand())  # type: ignore[arg-type]

    def _keyword_before(self, operand: Operand, operator: Token) -> Keyword:
        if not isinstance(operand, Keyword):
            raise ConfigError(
                f"{self._source}:{operator.line}:{operator.column}: '{operator.text}' needs a keyword on its left"
            )
        return operand

    def _operand(self) -> Operand:
        token = self._peek()
        if token.kind == "string":
            self._next()
            return Constant(token.text[1:-1])
        if token.kind == "number":
            self._next()
            return Constant(_number(token.text))
        if token.kind == "name" and token.text not in _RESERVED:
            self._next()
            if token.text.startswith(INPUT_FILE_PREFIX):
                return Keyword(token.text.removeprefix(INPUT_FILE_PREFIX), of_input_file=True)
            return Keyword(token.text)
        raise self._error("a keyword, a quoted string or a number")

    def _literal(self) -> Value:
        token = self._peek()
        if token.kind == "string":
            self._next()
            return token.text[1:-1]
        return _number(self._expect_kind("number", "a quoted string or a number").text)


# The language's own words; header keywords are upper case, so none of these can be one.
_RESERVED = frozenset(
    {"if", "then", "and", "or", "not", "like", "is", "string", "select", "execute", "from", "where",
     "group", "by", "as", "action", "file", "recipe", "product", "minRet", "maxRet"}
)


def _number(text: str) -> int | float:
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def parse_oca(text: str, source: str = "<oca>") -> OcaRules:
    """Parse OCA text; a syntax error raises ConfigError as `source:line:column: expected X but found Y`."""
    return _Parser(tokenize(text, source), source).parse_file()


def load_oca(path: Path) -> OcaRules:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise ConfigError(f"cannot read OCA rules {path}: {error}") from error
    return parse_oca(text, str(path))
