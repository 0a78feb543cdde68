"""HTML of the site, from the package's own templates (dwconf/site/templates/).

jinja2 is otherwise confined to dwconf/templating/, which renders users' values in a sandbox.
Here it renders trusted templates that ship with dwconf, with autoescaping on, so every value
from the configuration is escaped; nothing a user writes is ever treated as a template.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from dwconf import __version__
from dwconf.graph.text import dot, mermaid, svg
from dwconf.site.data import Site

ARROWS = {"both": "⇄", "to_dataverse": "→", "to_finops": "←"}


def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("dwconf.site", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["arrow"] = lambda d: ARROWS.get(str(d), str(d))
    env.filters["compact"] = lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False)
    return env


def search_index(site: Site) -> list[dict[str, str]]:
    """One entry per map and per field: what the search box looks through."""
    entries: list[dict[str, str]] = []
    for m in site.maps:
        url = f"maps/{m['slug']}.html"
        entries.append({"t": "map", "n": m["name"], "d": m["finops_entity"], "u": url})
        for i, f in enumerate(m["fields"]):
            left = f.get("finops") or f"(default {f.get('default')})"
            right = f.get("dataverse") or f"(default {f.get('default')})"
            entries.append(
                {
                    "t": "field",
                    "n": f"{left} {ARROWS.get(str(f.get('direction')), '')} {right}",
                    "d": m["name"],
                    "u": f"{url}#f{i}",
                }
            )
    return entries


def _graph_svg(site: Site) -> str | None:
    """The dependency graph drawn by Graphviz when it is installed; None otherwise."""
    if shutil.which("dot") is None:
        return None
    text = svg(site.graph)
    return text[text.index("<svg") :]


def write(site: Site, out: Path) -> list[Path]:
    """Write the site into `out`; returns the pages written."""
    env = _templates()
    out.mkdir(parents=True, exist_ok=True)
    (out / "maps").mkdir(exist_ok=True)
    assets = resources.files("dwconf.site") / "assets"
    for name in ("style.css", "search.js"):
        (out / name).write_text((assets / name).read_text(encoding="utf-8"), encoding="utf-8")
    index = json.dumps(search_index(site), ensure_ascii=False, separators=(",", ":"))
    (out / "search-index.js").write_text(f"window.DWCONF_INDEX = {index};\n", encoding="utf-8")
    common: dict[str, Any] = {"site": site, "version": __version__}
    pages = [out / "index.html"]
    pages[0].write_text(
        env.get_template("index.html").render(
            **common,
            root="",
            graph_svg=_graph_svg(site),
            graph_mermaid=mermaid(site.graph),
            graph_dot=dot(site.graph),
        ),
        encoding="utf-8",
    )
    for m in site.maps:
        page = out / "maps" / f"{m['slug']}.html"
        page.write_text(
            env.get_template("map.html").render(**common, root="../", map=m), encoding="utf-8"
        )
        pages.append(page)
    return pages
