"""The package's imports have no circles (issue 17).

import-linter's contracts (pyproject.toml, ``lint-imports`` in ``make test``) keep the layers apart, but a
circle inside one layer (two gui modules importing each other, the CLI's modules importing one another)
breaks none of them.  This looks for circles on grimp's graph, the one import-linter checks: every import
counts, those inside functions and under ``TYPE_CHECKING`` too.
"""

from __future__ import annotations

import grimp


def import_circles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Each circle once, as the modules along it (the first import of the circle found first in sorted order)."""
    circles: dict[frozenset[str], tuple[str, ...]] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            way_back = graph.find_shortest_chain(importer=imported, imported=importer)
            if way_back is not None:
                circles.setdefault(frozenset(way_back), (importer, *way_back))
    return list(circles.values())


def test_lift_reader_has_no_import_circles():
    graph = grimp.build_graph("lift_reader", cache_dir=None)
    circles = [" -> ".join(circle) for circle in import_circles(graph)]
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_a_circle_is_found_however_long():
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=importer, imported=imported)
    assert import_circles(graph) == [("p.a", "p.b", "p.c", "p.a")]
    graph.remove_import(importer="p.c", imported="p.a")
    assert import_circles(graph) == []
