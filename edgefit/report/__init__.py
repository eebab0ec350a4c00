"""Stage 8, report: render result objects to text, JSON and the other formats. Renderers never recompute."""
