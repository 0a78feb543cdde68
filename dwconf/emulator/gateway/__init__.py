"""The emulated dual-write management gateway (`/env/{name}/gateway`): map lifecycle
(`handler`), solutions and the link (`link`), the live model in the gateway's JSON shapes
(`shapes`, over the per-map `views`), and what every route shares (`request`).
"""
