"""Read config/ (YAML) into a validated ConfigSnapshot, reporting every problem with its line.

Layout: ``catalog/<name>.v<N>.yaml``, ``dunning/<code>.v<N>.yaml``, ``entities/<code>.yaml``.
Optional: ``rating/<code>.v<N>.yaml`` (telco rate tables).
Each file is composed into a YAML node tree (for line numbers), validated with the models of
``models.config``, then the snapshot checks the rules that span files. Structural problems of a
file are reported first; its cross-field rules are checked once its structure is valid.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from models.config import (
    CatalogConfig,
    ConfigSnapshot,
    DunningLadderConfig,
    LegalEntityConfig,
)
from models.config_rating import RateTableConfig
from models.config_types import AMOUNT_NOT_STRING, CONFIG_RULES, Loc

Kind = Literal["catalog", "dunning_ladder", "legal_entity", "rate_table"]
Section = Literal["catalogs", "ladders", "entities", "rate_tables"]
_OWN_MESSAGES = {
    "code_format",
    "currency",
    "country",
    "timezone",
    "duration",
    "amount_format",
    "amount_negative",
    "amount_precision",
    "not_quoted",
    "time_format",
    "increments",
}


@dataclass(frozen=True)
class _Layout:
    folder: str
    section: Section
    model: type[BaseModel]
    name_re: re.Pattern[str]
    name_hint: str
    required: bool = True  # False: the folder may be absent (no files of this kind)


LAYOUT: dict[Kind, _Layout] = {
    "catalog": _Layout(
        "catalog",
        "catalogs",
        CatalogConfig,
        re.compile(r"^[a-z0-9][a-z0-9_-]*\.v(?P<version>\d+)$"),
        "<name>.v<version>.yaml",
    ),
    "dunning_ladder": _Layout(
        "dunning",
        "ladders",
        DunningLadderConfig,
        re.compile(r"^(?P<code>[^.]+)\.v(?P<version>\d+)$"),
        "<code>.v<version>.yaml",
    ),
    "legal_entity": _Layout(
        "entities", "entities", LegalEntityConfig, re.compile(r"^(?P<code>[^.]+)$"), "<code>.yaml"
    ),
    "rate_table": _Layout(
        "rating",
        "rate_tables",
        RateTableConfig,
        re.compile(r"^(?P<code>[^.]+)\.v(?P<version>\d+)$"),
        "<code>.v<version>.yaml",
        required=False,
    ),
}


@dataclass(frozen=True)
class ConfigProblem:
    file: str  # relative to the parent of config_dir, e.g. "config/catalog/demo.v1.yaml"
    line: int | None  # 1-based
    field: str  # dotted path, e.g. "plans[0].charges[1].prices.USD"; "" for the whole file
    rule: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.rule}" if self.field else f"{where}: {self.rule}"


class ConfigError(Exception):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} configuration problem(s):\n{lines}")


@dataclass
class _Source:
    """One parsed file: where it is, its YAML tree, and its model once valid."""

    path: Path
    file: str
    node: yaml.Node
    data: Any
    layout: _Layout
    value: BaseModel | None = None


def load_config(config_dir: Path, templates_dir: Path | None = None) -> ConfigSnapshot:
    snapshot, problems = _load(Path(config_dir), templates_dir)
    if problems or snapshot is None:
        raise ConfigError(problems)
    return snapshot


def check_config(config_dir: Path, templates_dir: Path | None = None) -> list[ConfigProblem]:
    return _load(Path(config_dir), templates_dir)[1]


def load_catalog_file(path: Path) -> CatalogConfig:
    """One catalog file on its own, with its file's own rules only (no file-name or cross-file
    rules), for tools such as `o2c price`; ConfigError lists its problems with their lines."""
    path = Path(path)
    problems: list[ConfigProblem] = []
    if not path.is_file():
        raise ConfigError([ConfigProblem(path.as_posix(), None, "", "file not found")])
    source = _parse(path, path.as_posix(), LAYOUT["catalog"], problems)
    if source is not None:
        try:
            return CatalogConfig.model_validate(source.data)
        except ValidationError as exc:
            problems += _problems_from(exc, source.file, source.node, CatalogConfig, source.data)
    raise ConfigError(problems)


def _load(
    config_dir: Path, templates_dir: Path | None
) -> tuple[ConfigSnapshot | None, list[ConfigProblem]]:
    root = config_dir.resolve().parent
    problems: list[ConfigProblem] = []
    if not config_dir.is_dir():
        problems.append(
            ConfigProblem(_rel(config_dir, root), None, "", "config directory not found")
        )
        return None, problems
    sources: list[_Source] = []
    for layout in LAYOUT.values():
        sources += _read_folder(config_dir / layout.folder, layout, root, problems)
    for source in sources:
        _validate(source, templates_dir, problems)
    snapshot = _snapshot(sources, problems)
    problems.sort(key=lambda p: (p.file, p.line or 0))
    return (None if problems else snapshot), problems


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


# --- reading files ------------------------------------------------------------------------------


def _read_folder(
    folder: Path, layout: _Layout, root: Path, problems: list[ConfigProblem]
) -> list[_Source]:
    where = _rel(folder, root)
    if not folder.is_dir() and not layout.required:
        return []
    if not folder.is_dir():
        problems.append(
            ConfigProblem(
                where, None, "", f"missing directory: create it with {layout.name_hint} files"
            )
        )
        return []
    sources: list[_Source] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix == ".yml":
            problems.append(
                ConfigProblem(
                    _rel(path, root), None, "", "rename to .yaml (config files end in .yaml)"
                )
            )
        elif path.suffix == ".yaml":
            source = _parse(path, _rel(path, root), layout, problems)
            if source is not None:
                sources.append(source)
    if not any(p.suffix in (".yaml", ".yml") for p in folder.iterdir()):
        problems.append(
            ConfigProblem(where, None, "", f"no config file: add at least one {layout.name_hint}")
        )
    return sources


def _parse(path: Path, file: str, layout: _Layout, problems: list[ConfigProblem]) -> _Source | None:
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except UnicodeDecodeError as exc:
        problems.append(ConfigProblem(file, None, "", f"not UTF-8 text: {exc.reason}"))
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = " ".join(str(s) for s in (exc.context, exc.problem) if s)
        line = mark.line + 1 if mark else None
        problems.append(ConfigProblem(file, line, "", f"YAML syntax error: {detail}"))
        return None
    if node is None:
        problems.append(ConfigProblem(file, None, "", "file is empty"))
        return None
    if not isinstance(node, yaml.MappingNode):
        problems.append(
            ConfigProblem(
                file, _line(node), "", "the file must be a mapping of fields (key: value)"
            )
        )
        return None
    duplicates = list(_duplicate_keys(node, ()))
    for loc, key_node in duplicates:
        problems.append(
            ConfigProblem(
                file, _line(key_node), _field(loc), "duplicate key (YAML keeps only the last)"
            )
        )
    try:
        data = yaml.SafeLoader("").construct_document(node)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        problems.append(ConfigProblem(file, line, "", f"YAML error: {exc.problem}"))
        return None
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in LAYOUT:
        rule = f"unknown kind {kind!r}: expected one of {', '.join(LAYOUT)}"
        if kind is None:
            rule = f"missing field 'kind': files in {layout.folder}/ say kind: {_kind_of(layout)}"
        problems.append(ConfigProblem(file, _line(_child(node, "kind") or node), "kind", rule))
        return None
    if LAYOUT[kind] is not layout:
        rule = f"a {kind} file belongs in {LAYOUT[kind].folder}/, not {layout.folder}/"
        problems.append(ConfigProblem(file, _line(_child(node, "kind") or node), "kind", rule))
        return None
    return None if duplicates else _Source(path, file, node, data, layout)


def _kind_of(layout: _Layout) -> str:
    return next(kind for kind, lay in LAYOUT.items() if lay is layout)


def _duplicate_keys(node: yaml.Node, loc: Loc) -> typing.Iterator[tuple[Loc, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            if key.value in seen:
                yield (*loc, key.value), key
            seen.add(key.value)
            yield from _duplicate_keys(value, (*loc, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, i))


# --- validating one file ------------------------------------------------------------------------


def _validate(source: _Source, templates_dir: Path | None, problems: list[ConfigProblem]) -> None:
    model = source.layout.model
    try:
        source.value = model.model_validate(source.data)
    except ValidationError as exc:
        problems += _problems_from(exc, source.file, source.node, model, source.data)
        return
    problems += _file_name_rules(source)
    if templates_dir is not None and isinstance(source.value, DunningLadderConfig):
        problems += _template_rules(source, source.value, templates_dir)


def _problems_from(
    exc: ValidationError, file: str, node: yaml.Node, model: type[BaseModel], data: Any
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for error in exc.errors():
        loc: Loc = tuple(error["loc"])
        if error["type"] == CONFIG_RULES:
            for sub_loc, message in error.get("ctx", {})["issues"]:
                problems.append(_problem(file, node, data, (*loc, *sub_loc), message))
            continue
        if error["type"].startswith("union_tag_"):  # point at the discriminator field itself
            loc = (*loc, str(error.get("ctx", {}).get("discriminator", "type")).strip("'"))
        problems.append(_problem(file, node, data, loc, _message(error, node, loc, model)))
    return problems


def _problem(file: str, node: yaml.Node, data: Any, loc: Loc, rule: str) -> ConfigProblem:
    clean = _clean_loc(data, loc)
    return ConfigProblem(file, _line(_node_at(node, loc)), _field(clean), rule)


def _message(error: ErrorDetails, root: yaml.Node, loc: Loc, model: type[BaseModel]) -> str:
    kind, value = error["type"], error.get("input")
    if kind == AMOUNT_NOT_STRING:
        found = _node_at(root, loc, want_key=False)
        written = found.value if isinstance(found, yaml.ScalarNode) else value
        got = f"{type(value).__name__} {value}"
        return f'amount must be a quoted decimal string, got {got} (write "{written}")'
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        return f"unknown field {loc[-1]!r}{hint}; allowed: {', '.join(allowed)}"
    if kind == "missing":
        return "required field is missing"
    ctx = error.get("ctx", {})
    if kind in ("enum", "literal_error"):
        return f"{value!r} is not allowed here; expected {ctx.get('expected')}"
    if kind == "union_tag_invalid":
        return f"unknown {loc[-1]} {ctx.get('tag')!r}; expected {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "required field is missing"
    message = error["msg"].removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if kind in _OWN_MESSAGES:
        return message
    shown = f"a {type(value).__name__}" if isinstance(value, dict | list) else repr(value)
    return f"{message}, got {shown}"


# --- YAML node look-ups -------------------------------------------------------------------------


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    pair = _pair(node, key)
    return pair[0] if pair else None


def _pair(node: yaml.Node, key: Any) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == str(key):
                return k, v
    return None


def _node_at(root: yaml.Node, loc: Loc, want_key: bool = True) -> yaml.Node:
    """The deepest node along loc: a key's node if loc ends on a mapping key, else the item."""
    node = root
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if part == "[key]":
            return node
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            continue
        pair = _pair(node, part)
        if pair is None:
            if _is_tag(node, part):
                continue
            return node
        if (last and want_key) or (i + 1 < len(loc) and loc[i + 1] == "[key]"):
            return pair[0]
        node = pair[1]
    return node


def _is_tag(node: yaml.Node, part: Any) -> bool:
    type_node = _pair(node, "type")
    return type_node is not None and type_node[1].value == part


def _clean_loc(data: Any, loc: Loc) -> Loc:
    """Drop pydantic's union tags and '[key]' markers so the path reads like the YAML."""
    out: list[str | int] = []
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(data, dict) and part not in data and data.get("type") == part:
            continue
        out.append(part)
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            data = None
    return tuple(out)


def _field(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names of the model found at loc (following lists, dicts and union tags)."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return []
            tp = field.annotation
        elif get_origin(tp) in (list, tuple):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) in (Union, types.UnionType):
            tp = next((m for m in get_args(tp) if _tag_of(m) == part), None)
        else:
            return []
    tp = _unwrap(tp)
    if get_origin(tp) in (Union, types.UnionType):
        return []
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    return tp


def _tag_of(member: Any) -> Any:
    if isinstance(member, type) and issubclass(member, BaseModel) and "type" in member.model_fields:
        return member.model_fields["type"].default
    return None


# --- rules beyond one model ---------------------------------------------------------------------


def _file_name_rules(source: _Source) -> list[ConfigProblem]:
    stem = source.path.name.removesuffix(".yaml")
    layout = source.layout
    match = layout.name_re.match(stem)
    if match is None:
        return [
            ConfigProblem(source.file, None, "", f"file name must look like {layout.name_hint}")
        ]
    problems: list[ConfigProblem] = []
    for key, expected in match.groupdict().items():
        actual = getattr(source.value, key)
        if str(actual) != expected.lstrip("0") and str(actual) != expected:
            rule = f"{key} is {actual!r} but the file name says {expected!r} ({layout.name_hint})"
            problems.append(ConfigProblem(source.file, _line(_child(source.node, key)), key, rule))
    return problems


def _template_rules(
    source: _Source, ladder: DunningLadderConfig, templates_dir: Path
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for i, step in enumerate(ladder.steps):
        if step.template is None:
            continue
        folder = templates_dir / "notices" / "en" / step.template
        if not folder.is_dir():
            loc: Loc = ("steps", i, "template")
            rule = f"template {step.template!r} not found: expected the folder {folder.as_posix()}/"
            problems.append(
                ConfigProblem(source.file, _line(_node_at(source.node, loc)), _field(loc), rule)
            )
    return problems


def _snapshot(sources: list[_Source], problems: list[ConfigProblem]) -> ConfigSnapshot | None:
    valid: dict[Section, list[_Source]] = {
        "catalogs": [],
        "ladders": [],
        "entities": [],
        "rate_tables": [],
    }
    unvalidated_ladders: set[str] = set()
    for source in sources:
        if source.value is not None:
            valid[source.layout.section].append(source)
        elif source.layout.section == "ladders":
            unvalidated_ladders.add(str(source.data.get("code") or source.path.name.split(".")[0]))
    payload = {section: [s.value for s in items] for section, items in valid.items()}
    try:
        return ConfigSnapshot.model_validate(
            payload, context={"unvalidated_ladders": unvalidated_ladders}
        )
    except ValidationError as exc:
        for error in exc.errors():
            for loc, message in _flat_issues(error):
                if len(loc) < 2:
                    problems.append(ConfigProblem("config", None, _field(loc), message))
                    continue
                section, index, *rest = loc
                source = valid[typing.cast(Section, section)][int(index)]
                problems.append(
                    _problem(source.file, source.node, source.data, tuple(rest), message)
                )
        return None


def _flat_issues(error: ErrorDetails) -> list[tuple[Loc, str]]:
    loc = tuple(error["loc"])
    if error["type"] == CONFIG_RULES:
        return [((*loc, *sub), msg) for sub, msg in error.get("ctx", {})["issues"]]
    return [(loc, error["msg"])]
