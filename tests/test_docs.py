"""Documentation keeps up with the code, and speaks of the project alone.

Every command and option a user can type is in the README; every command, configuration section and
plugin hook is named in the README or a page of docs/; every hook is called somewhere; every output
column of the rules engine is described in docs/rules.md, and its worked examples are what the
engine gives. Each check is parametrised over the names it reads from the code, so a name added
without documentation fails on its own, and each finder is shown to reject a name that is missing.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import keyword
import re
import subprocess
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from support.builders import assignments_frame, leaves_frame, make_inputs, make_shift, punches_at
from support.oracle import oracle_compute_days

import punchbridge.plugin_api as api
from punchbridge.cli import main
from punchbridge.config.model import Config
from punchbridge.plugin_api import hookspecs
from punchbridge.plugin_api.http import HttpConnection, HttpTarget
from punchbridge.plugin_api.sources import Source
from punchbridge.plugin_api.targets import Target
from punchbridge.rules import DAY_COLUMNS, DaysResult
from punchbridge.rules.settings import Pairing, RuleSet, Site
from punchbridge.scaffold import template_files

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
DOC_PAGES = sorted((REPO / "docs").rglob("*.md"))
DOCS = README + "\n".join(page.read_text() for page in DOC_PAGES)
HOOKS_PAGE = (REPO / "docs" / "hooks.md").read_text()
RULES_PAGE = (REPO / "docs" / "rules.md").read_text()
CODE_FOLDERS = ("core", "jobs", "plugins")


def _commands(group: click.Group, prefix: str = "punchbridge") -> list[tuple[str, click.Command]]:
    found = []
    # Through click's own lookup: the top-level group imports its commands on first use.
    context = click.Context(group)
    for name in sorted(group.list_commands(context)):
        command = group.get_command(context, name)
        assert command is not None, f"`{prefix} {name}` is listed but cannot be loaded"
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix} {name}"))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(main), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_and_option_is_in_the_readme(name: str, command: click.Command) -> None:
    assert name in README, f"`{name}` is not documented in README.md"
    for parameter in command.params:
        if isinstance(parameter, click.Option) and not parameter.hidden:
            assert parameter.opts[0] in README, f"`{name} {parameter.opts[0]}` is not documented in README.md"


def test_every_command_has_help_text() -> None:
    for name, command in _commands(main):
        assert command.help, f"`{name}` has no help text"


# ----------------------------------------------------------------------------- commands and settings


@pytest.mark.parametrize("name", [name for name, _ in _commands(main)])
def test_every_command_is_named_in_the_readme_or_a_docs_page(name: str) -> None:
    assert name in DOCS, f"`{name}` is named neither in README.md nor in docs/"


def _names_section(text: str, section: str) -> bool:
    """Whether `text` shows `section:` as a configuration key (in YAML, or as inline code)."""
    return re.search(rf"(?m)(^\s*|`){re.escape(section)}:", text) is not None


CONFIG_SECTIONS = sorted(field.alias or name for name, field in Config.model_fields.items())


@pytest.mark.parametrize("section", CONFIG_SECTIONS)
def test_every_configuration_section_is_named_in_the_readme_or_a_docs_page(section: str) -> None:
    assert _names_section(DOCS, section), f"the configuration section `{section}:` is not documented"


def test_a_section_is_named_only_as_a_key() -> None:
    assert _names_section("receiver:\n  port: 8080", "receiver")
    assert _names_section("the `store:` URL", "store")
    assert not _names_section("the store keeps every punch", "store")
    assert not _names_section(DOCS, "no_such_section")


# ----------------------------------------------------------------------------- hooks


def _hookspecs() -> dict[str, inspect.Signature]:
    """Every hook declared in the hookspecs module, with its signature."""
    return {
        name: inspect.signature(function)
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, f"{hookspecs.PROJECT}_spec")
    }


HOOKSPECS = _hookspecs()


def _hook_section(page: str, name: str) -> str:
    """The text of the section of `page` whose heading names hook `name` ('' when there is none)."""
    match = re.search(rf"(?ms)^##+ `{re.escape(name)}\(.*?(?=^## |\Z)", page)
    return match.group(0) if match else ""


def test_the_hookspecs_are_read_from_the_module() -> None:
    assert {"register_targets", "run_started", "on_dead_letter"} <= set(HOOKSPECS)


def _documented_arguments(section: str, name: str) -> list[str] | None:
    """The argument names of the signature line `NAME(arg: type, ...) -> None` in a hook's section."""
    line = re.search(rf"(?m)^{re.escape(name)}\((.*)\) -> None$", section)
    if line is None:
        return None
    return re.findall(r"(\w+): ", re.sub(r"\[.*?\]", "", line.group(1)))


@pytest.mark.parametrize("name", sorted(HOOKSPECS))
def test_every_hook_has_a_section_with_its_signature_in_docs_hooks(name: str) -> None:
    section = _hook_section(HOOKS_PAGE, name)
    assert section, f"docs/hooks.md has no section `## `{name}(...)``"
    arguments = list(HOOKSPECS[name].parameters)
    assert section.startswith(f"## `{name}({', '.join(arguments)})`"), f"the heading of {name} names other arguments"
    assert _documented_arguments(section, name) == arguments, f"the signature of {name} differs from its hookspec"
    assert "**When:**" in section and "**What a plugin may do:**" in section and "```python" in section


def test_a_hook_without_a_section_or_with_other_arguments_is_found() -> None:
    assert _hook_section(HOOKS_PAGE, "run_started")
    assert not _hook_section(HOOKS_PAGE, "no_such_hook")
    section = "## `after_batch(target, batch)`\n\n```python\nafter_batch(target: Target, batch: Batch) -> None\n```\n"
    assert (
        _documented_arguments(section, "after_batch")
        == ["target", "batch"]
        != list(HOOKSPECS["after_batch"].parameters)
    )


def _code_text() -> str:
    return "\n".join(path.read_text() for folder in CODE_FOLDERS for path in sorted((REPO / folder).rglob("*.py")))


CODE = _code_text()
REGISTRY = (REPO / "core" / "plugin_api" / "registry.py").read_text()


def _is_called(name: str) -> bool:
    """Whether the code calls hook `name`: through the relay (`hook.NAME(`), or, for a registration
    hook, through the registry's table of registration hooks (`("NAME", ...)`, called by name)."""
    return f"hook.{name}(" in CODE or f'("{name}",' in REGISTRY


@pytest.mark.parametrize("name", sorted(HOOKSPECS))
def test_every_hook_is_called_somewhere(name: str) -> None:
    assert _is_called(name), f"no code in {', '.join(CODE_FOLDERS)} calls the hook {name}"


def test_a_hook_that_is_never_called_is_found() -> None:
    assert _is_called("before_batch")
    assert not _is_called("no_such_hook")


def _examples_of(page: str) -> list[str]:
    """The Python blocks of `page` that are examples (not a one-line signature)."""
    blocks = re.findall(r"(?ms)^```python\n(.*?)^```", page)
    return [block for block in blocks if not re.fullmatch(r"\w+\(.*\) -> None\n", block)]


@pytest.mark.parametrize("block", range(len(_examples_of(HOOKS_PAGE))))
def test_the_examples_of_docs_hooks_run_and_implement_real_hooks(block: int) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_hooks_example"}
    exec(compile(_examples_of(HOOKS_PAGE)[block], f"docs/hooks.md, example {block}", "exec"), namespace)
    implemented = [name for name, value in namespace.items() if hasattr(value, f"{hookspecs.PROJECT}_impl")]
    assert implemented, f"docs/hooks.md example {block} implements no hook"
    for name in implemented:
        value = namespace[name]
        assert name in HOOKSPECS, f"docs/hooks.md implements {name}, which is not a hook"
        extra = set(inspect.signature(value).parameters) - set(HOOKSPECS[name].parameters)
        assert not extra, f"docs/hooks.md: {name} takes {sorted(extra)}, which the hook does not pass"
        if name.startswith("register_"):
            registered = _registered_by(value)
            base = {"register_targets": Target, "register_sources": Source}.get(name)
            assert registered and all(base is None or issubclass(item, base) for _, item in registered)


def _registered_by(hook: Callable[..., Any]) -> list[tuple[str, Any]]:
    """What a registration hook implementation registers."""
    registered: list[tuple[str, Any]] = []
    hook(lambda name, item: registered.append((name, item)))
    return registered


# ----------------------------------------------------------------------------- the project's own words

#: Phrases that point at notes outside the repository, or address someone other than the reader.
FOREIGN_PHRASES = (
    "shared/spec",
    "spec section",
    "the rules spec",
    "(issue ",
    "for the readme",
    "attendance-rules.md",
    "minop-api.md",
)


def _tracked_files() -> list[Path]:
    """Files of the repository outside tests/ (git's list where there is one, else the tree)."""
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
        paths = [REPO / line for line in listed.splitlines()]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", "build", "dist", ".venv", "__pycache__"}
        paths = [p for p in REPO.rglob("*") if p.is_file() and not skip & set(p.relative_to(REPO).parts)]
    return sorted(p for p in paths if p.is_file() and p.relative_to(REPO).parts[0] != "tests")


def _foreign_mentions(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8", errors="ignore").lower()
    return [phrase for phrase in FOREIGN_PHRASES if phrase in text]


def test_no_file_outside_the_tests_points_at_notes_outside_the_repository() -> None:
    found = {str(p.relative_to(REPO)): mentions for p in _tracked_files() if (mentions := _foreign_mentions(p))}
    assert not found, f"files that mention notes the repository does not hold: {found}"


@pytest.mark.parametrize("phrase", FOREIGN_PHRASES)
def test_each_foreign_phrase_is_found(phrase: str, tmp_path: Path) -> None:
    sample = tmp_path / "sample.md"
    sample.write_text(f"Some text, then {phrase.upper()} and more.")
    assert _foreign_mentions(sample) == [phrase]


def test_the_readme_points_at_the_architecture_page() -> None:
    assert "docs/architecture.md" in README


# ----------------------------------------------------------------------------- docs/rules.md


def _output_columns_section() -> str:
    match = re.search(r"(?ms)^## The output columns\n(.*?)(?=^## )", RULES_PAGE)
    assert match, "docs/rules.md has no section `## The output columns`"
    return match.group(1)


@pytest.mark.parametrize("column", DAY_COLUMNS)
def test_every_output_column_is_described_in_docs_rules(column: str) -> None:
    row = re.search(rf"(?m)^\| `{column}` \| ([^|]+) \| (.+) \|$", _output_columns_section())
    assert row, f"docs/rules.md does not describe the output column `{column}` (type and meaning)"


def test_a_column_without_a_row_is_found_missing() -> None:
    assert not re.search(r"(?m)^\| `no_such_column` \|", _output_columns_section())


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Columns of an example that count quarantined punches rather than name an output column.
QUARANTINE_COUNTS = ("off_shift", "duplicate_punch")


def _examples() -> list[list[str]]:
    """The rows of the worked-example table: number, work date, punches, settings, expected."""
    section = RULES_PAGE.split("## Worked examples", 1)[1]
    rows = [line for line in section.splitlines() if re.match(r"\| \d+ \|", line)]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in rows]


def _example_inputs(work_date: date, punches_text: str, settings_text: str) -> tuple[Any, RuleSet]:
    """The engine's inputs for one example, read as the text above the table describes."""
    settings = yaml.safe_load(settings_text.strip("`")) if settings_text else {}
    site = {"timezone": "Asia/Kolkata"} | {k: settings.pop(k) for k in ("timezone", "holidays") if k in settings}
    pairing = Pairing(**settings.pop("pairing", {}))
    extra_shifts = {name: make_shift(**shift) for name, shift in settings.pop("shifts", {}).items()}
    assigned = settings.pop("assign", {})
    leave = settings.pop("leave", None)
    rules = RuleSet(
        sites={"blr": Site(**site)},
        shifts={"general": make_shift(**({"start": "09:00", "end": "18:00"} | settings)), **extra_shifts},
        pairing=pairing,
    )
    times: list[tuple[date, str]] = []
    directions: list[str | None] = []
    for item in [] if punches_text == "none" else punches_text.split(", "):
        words = item.split()
        day = work_date
        if words[0].lower() in WEEKDAYS:
            # A day name means the work date, the day before or the day after, whichever it names.
            wanted = WEEKDAYS.index(words.pop(0).lower())
            day = next(d for d in (work_date + timedelta(days=s) for s in (0, -1, 1)) if d.weekday() == wanted)
        times.append((day, words[0]))
        directions.append(words[1] if len(words) > 1 else None)
    punches = punches_at(times, site["timezone"], directions=directions if any(directions) else None)
    leaves = [(kind, paid == "paid") for kind, paid in (part.split() for part in leave.split(" + "))] if leave else []
    inputs = make_inputs(
        punches,
        leaves=leaves_frame(*[("E1", work_date, kind, paid) for kind, paid in leaves]) if leaves else None,
        assignments=assignments_frame(*[("E1", n, a, b) for n, (a, b) in assigned.items()]) if assigned else None,
    )
    return inputs, rules


def _shown(value: object, expected: str) -> str:
    """An engine value as the table writes it (times as HH:MM where the table does, '-' for empty)."""
    if isinstance(value, str):
        if value == "":
            return "-"
        if re.fullmatch(r"\d\d:\d\d(:\d\d)?", expected) and "T" in value:
            clock = value.split("T")[1][:8]
            return clock[:5] if len(expected) == 5 and clock.endswith(":00") else clock
        return value
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _differences(example: list[str], compute: Callable[..., DaysResult]) -> list[str]:
    """What the engine gives differently from one example row (empty when they agree)."""
    _number, when, punches_text, settings_text, expected_text = example
    work_date = date.fromisoformat(when.split()[1])
    inputs, rules = _example_inputs(work_date, punches_text, settings_text)
    result = compute(inputs, rules, work_date, work_date)
    (row,) = result.days.to_dict("records")
    quarantine = result.quarantine
    for reason in QUARANTINE_COUNTS:
        row[reason] = int((quarantine["reason"] == reason).sum()) if len(quarantine) else 0
    found = []
    for pair in expected_text.split(", "):
        column, expected = pair.split("=", 1)
        assert column in DAY_COLUMNS or column in QUARANTINE_COUNTS, f"unknown column {column!r} in the example"
        got = _shown(row[column], expected)
        if got != expected:
            found.append(f"{column}: the page says {expected}, the engine gives {got}")
    return found


EXAMPLES = _examples()


def test_the_worked_examples_are_read_from_docs_rules() -> None:
    assert [int(example[0]) for example in EXAMPLES] == list(range(1, len(EXAMPLES) + 1))
    assert len(EXAMPLES) >= 30


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: f"example_{example[0]}")
def test_each_worked_example_of_docs_rules_is_what_the_engine_gives(
    example: list[str], compute: Callable[..., DaysResult]
) -> None:
    if "duplicate_punch=" in example[4] and compute is oracle_compute_days:
        pytest.skip("the oracle is never given exact re-sends: the store removes them first (test_property.py)")
    differences = _differences(example, compute)
    assert not differences, f"docs/rules.md example {example[0]}:\n" + "\n".join(differences)


def test_a_wrong_number_in_an_example_is_found(compute: Callable[..., DaysResult]) -> None:
    example = list(EXAMPLES[0])
    example[4] = example[4].replace("worked_minutes=554", "worked_minutes=555")
    assert _differences(example, compute) == ["worked_minutes: the page says 555, the engine gives 554"]


def test_every_docs_page_starts_with_its_title() -> None:
    assert DOC_PAGES
    for page in DOC_PAGES:
        assert page.read_text().startswith("# "), f"{page.relative_to(REPO)} does not start with a title"


def _linked(page: Path) -> bool:
    """Whether the README or another docs page refers to `page`."""
    relative = page.relative_to(REPO / "docs").as_posix()
    others = "\n".join(p.read_text() for p in DOC_PAGES if p != page)
    return f"docs/{relative}" in README or relative in others


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda page: page.relative_to(REPO / "docs").as_posix())
def test_every_docs_page_is_linked_from_the_readme_or_another_page(page: Path) -> None:
    assert _linked(page), f"nothing links to docs/{page.relative_to(REPO / 'docs').as_posix()}"


def test_a_page_nothing_links_to_is_found() -> None:
    assert not _linked(REPO / "docs" / "no-such-page.md")


# ----------------------------------------------------------------------------- names the docs mention

#: The last part of a file name that reads like a dotted name (`punchbridge.yaml`, `punchbridge.db`).
FILE_SUFFIXES = frozenset({"csv", "db", "json", "log", "md", "py", "sqlite", "toml", "txt", "yaml", "yml"})
MAPPINGS_README = (REPO / "mappings" / "README.md").read_text()
WRITING_PAGE = (REPO / "docs" / "plugins" / "writing.md").read_text()


def _inline_code(text: str) -> str:
    """The inline code spans of `text` outside its fenced blocks, one a line."""
    return "\n".join(re.findall(r"`([^`\n]+)`", re.sub(r"(?ms)^```.*?^```", "", text)))


def _dotted_names(text: str) -> set[str]:
    """The dotted `punchbridge.` names in `text`, file names such as `punchbridge.yaml` left out."""
    names = re.findall(r"(?<![\w.-])punchbridge(?:\.\w+)+", text)
    return {name for name in names if name.rsplit(".", 1)[1] not in FILE_SUFFIXES}


def _imports(name: str) -> bool:
    """Whether the dotted `name` is a module of punchbridge, or an attribute of one (found without running a module
    that is named itself: `punchbridge.__main__` would start the command line)."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError:  # a part before is a module, not a package
            continue
        if found is None:
            continue
        value: Any = importlib.import_module(module) if cut < len(parts) else None
        for attribute in parts[cut:]:
            if not hasattr(value, attribute):
                return False
            value = getattr(value, attribute)
        return True
    return False


DOCS_NAMES = sorted(_dotted_names(_inline_code(DOCS + MAPPINGS_README)))


@pytest.mark.parametrize("name", DOCS_NAMES)
def test_every_dotted_punchbridge_name_in_the_docs_imports(name: str) -> None:
    pages = [p.relative_to(REPO).as_posix() for p in DOC_PAGES if name in _dotted_names(_inline_code(p.read_text()))]
    assert _imports(name), f"`{name}` does not import (mentioned in {pages or 'README.md or mappings/README.md'})"


def test_a_dotted_name_that_does_not_import_is_found() -> None:
    assert len(DOCS_NAMES) > 20
    text = "`punchbridge.yaml`, `punchbridge.rules.compute_days(inputs)`, sqlite:///punchbridge.db, `punchbridge_x.y`"
    assert _dotted_names(_inline_code(text)) == {"punchbridge.rules.compute_days"}
    assert _imports("punchbridge.plugin_api.RateLimitedError") and _imports("punchbridge.__main__")
    assert _imports("punchbridge.hookimpl") and _imports("punchbridge.testing.conformance.TargetConformance")
    for gone in ("punchbridge.targets", "punchbridge.hookspecs", "punchbridge.plugin_api.targets.settings_of"):
        assert not _imports(gone), gone
    assert not _imports("punchbridge.plugin_api.targets.retry_after_seconds")


# ----------------------------------------------------------------------------- docs/plugins/writing.md


def _code_of(page: str) -> str:
    """The code of `page`: its fenced blocks, then its inline code spans."""
    return "\n".join([*re.findall(r"(?ms)^```[^\n]*\n(.*?)^```", page), _inline_code(page)])


@pytest.mark.parametrize("name", api.__all__)
def test_every_name_of_the_plugin_api_is_shown_in_the_plugin_authors_guide(name: str) -> None:
    assert re.search(rf"\b{name}\b", _code_of(WRITING_PAGE)), f"docs/plugins/writing.md does not show `{name}`"


def test_a_name_the_guide_shows_only_in_prose_is_found() -> None:
    assert re.search(r"\bclip\b", _code_of("cut with `clip(text)`"))
    assert not re.search(r"\bclip\b", _code_of("we clip long messages"))


@pytest.mark.parametrize("name", sorted(_dotted_names(WRITING_PAGE)))
def test_every_dotted_punchbridge_name_in_the_guide_imports(name: str) -> None:
    assert _imports(name), f"docs/plugins/writing.md names `{name}`, which does not import"


def _imported_by_examples(page: str) -> list[str]:
    """`module.name` for every name the page's examples import from punchbridge."""
    found = []
    for module, names in re.findall(r"(?m)^from (punchbridge[\w.]*) import ([\w, ]+)$", _code_of(page)):
        found.extend(f"{module}.{name.strip()}" for name in names.split(","))
    return found


def test_every_name_the_guides_examples_import_exists() -> None:
    imported = _imported_by_examples(WRITING_PAGE)
    assert "punchbridge.plugin_api.HttpTarget" in imported
    assert [name for name in imported if not _imports(name)] == []
    assert _imported_by_examples("```python\nfrom punchbridge.plugin_api import Target, settings_of\n```") == [
        "punchbridge.plugin_api.Target",
        "punchbridge.plugin_api.settings_of",
    ]


#: Callables the guide shows that are not punchbridge's: those the kit's fixtures return.
FIXTURE_CALLABLES = frozenset({"refuse", "seed"})
#: What the guide's `http.` refers to: the target's connection.
OWNERS: dict[str, Any] = {"http": HttpConnection}


def _calls(page: str) -> list[tuple[str, list[str]]]:
    """The calls the page shows as inline code, `name(arg, key=value, ...)`: the name and the argument names."""
    found = []
    for code in _inline_code(page).splitlines():
        call = re.fullmatch(r"([A-Za-z_][\w.]*)\((.*)\)", code)
        if call:
            arguments = [part.split("=")[0].strip() for part in call.group(2).split(",")]
            found.append((call.group(1), [a for a in arguments if a.isidentifier() and not keyword.iskeyword(a)]))
    return found


def _call_problems(name: str, arguments: list[str]) -> list[str]:
    """What is wrong with a call the guide shows: a callable that does not exist, or an argument it does not take."""
    if name in FIXTURE_CALLABLES:
        return []
    owner, _, attribute = name.rpartition(".")
    if name.startswith("punchbridge."):
        if not _imports(name):
            return [f"`{name}` does not exist"]
        module, _, attribute = name.rpartition(".")
        function = getattr(importlib.import_module(module), attribute)
    elif owner:
        function = getattr(OWNERS.get(owner), attribute, None)
    else:
        function = getattr(api, name, None) or getattr(HttpTarget, name, None)
    if not callable(function):
        return [f"`{name}` is not a callable of the plugin API, a target or its connection"]
    taken = inspect.signature(function).parameters
    return [f"`{name}` takes no argument `{argument}`" for argument in arguments if argument not in taken]


def test_every_call_the_guide_shows_exists_with_the_arguments_it_shows() -> None:
    calls = _calls(WRITING_PAGE)
    assert len(calls) > 30
    problems = [problem for name, arguments in calls for problem in _call_problems(name, arguments)]
    assert problems == []


def test_a_call_the_plugin_api_does_not_have_is_found() -> None:
    assert _call_problems("retry_after_seconds", ["header"]) == ["`retry_after_seconds` takes no argument `header`"]
    assert _call_problems("settings_of", ["target"]) != []
    assert _call_problems("http.request", ["method", "url", "what"]) == []
    assert _calls("`Outcome(key, ok, remote_id=None)` and `RateLimited`") == [("Outcome", ["key", "ok", "remote_id"])]


def _excerpts(page: str) -> list[tuple[str, list[str]]]:
    """The blocks of `page` that quote a file of the plugin template (their first line, `# PATH`, names it):
    the file, and the parts of the block between lines `...`."""
    found = []
    for block in re.findall(r"(?ms)^```\w*\n(.*?)^```", page):
        first, _, rest = block.partition("\n")
        if first.startswith("# ") and first[2:] in TEMPLATE:
            found.append((first[2:], re.split(r"(?m)^\.\.\.\n", rest)))
    return found


def _quoted_in_order(parts: list[str], text: str) -> bool:
    """Whether each of `parts` is in `text`, each after the one before."""
    position = 0
    for part in parts:
        position = text.find(part, position)
        if position < 0:
            return False
        position += len(part)
    return True


TEMPLATE = template_files()
EXCERPTS = _excerpts(WRITING_PAGE)


@pytest.mark.parametrize(("path", "parts"), EXCERPTS, ids=[f"{n}:{path}" for n, (path, _) in enumerate(EXCERPTS)])
def test_each_excerpt_of_the_worked_example_is_the_template_as_shipped(path: str, parts: list[str]) -> None:
    assert _quoted_in_order(parts, TEMPLATE[path]), f"docs/plugins/writing.md quotes {path} as it is not (any more)"


def test_the_worked_example_quotes_every_module_of_the_template_and_a_changed_line_is_found() -> None:
    quoted = {path for path, _ in EXCERPTS}
    assert {"pyproject.toml", "src/punchbridge_example/target.py", "src/punchbridge_example/emulator.py"} <= quoted
    path, parts = next(excerpt for excerpt in EXCERPTS if excerpt[0].endswith("target.py"))
    assert not _quoted_in_order([parts[0].replace("\n", " \n", 1)], TEMPLATE[path])
    assert not _quoted_in_order(list(reversed(parts)), TEMPLATE[path]) or len(parts) == 1
