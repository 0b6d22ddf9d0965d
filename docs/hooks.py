"""MkDocs hooks: the reference pages are generated from the code (the config schema's field
descriptions, the typer app's help), and the bench's figures (bench/results/*.png) are served
under results/, so the site shows what the repository holds without copies."""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
GENERATED = {"<!-- config-reference -->": "config", "<!-- cli-reference -->": "cli"}


def on_files(files, config):
    for png in sorted((ROOT / "bench" / "results").glob("*.png")):
        files.append(File.generated(config, f"results/{png.name}", abs_src_path=str(png)))
    return files


def on_page_markdown(markdown, page, config, files):
    for marker, kind in GENERATED.items():
        if marker in markdown:
            if kind == "config":
                from orchestrator.config_reference import markdown_reference
            else:
                from orchestrator.cli.reference import markdown_reference
            markdown = markdown.replace(marker, markdown_reference())
    return markdown
