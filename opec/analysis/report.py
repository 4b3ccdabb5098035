"""The report folder: ``index.html`` (self-contained: inline CSS, inline SVG charts, PNG data
URIs; nothing is fetched) and ``summary.json`` (every number of the page).

The folder is built in a temporary folder beside ``out`` and renamed onto it at the end, so an
error never leaves a partial report; an existing report folder at ``out`` is replaced.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from html import escape
from pathlib import Path

from opec.analysis.svg import CATEGORY_COLORS, PALETTE, grouped_bars, stacked_bars

STEP_LABELS = {"original": "original", "miss": "+ miss fixed", "swap": "+ swap fixed",
               "inversion": "+ inversion fixed", "jitter": "+ jitter fixed", "rescore": "+ optimal score",
               "background_fp": "+ no background FP", "false_negatives": "+ no false negatives"}
FILE_LABELS = {"results": "results", "before": "before"}
CSS = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
h3 { font-size: 15px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f0; }
.note { color: #555; font-size: 13px; max-width: 900px; }
.gallery { display: flex; flex-wrap: wrap; gap: 12px; }
.gallery figure { margin: 0; font-size: 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: middle; }
"""


def _table(table_id: str, header: list[str], rows: list[list], caption: str = "") -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f'<table id="{table_id}">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _ap(value: float) -> str:
    return "n/a" if value < 0 else f"{value:.4f}"


def _impact_section(summary: dict, key: str) -> str:
    block = summary["files"][key]
    impact, steps, slices = block["ap_impact"], summary["steps"], summary["slices"]
    parts = [f"<h3>{escape(FILE_LABELS[key])}: {escape(block['file'])}</h3>"]
    for metric in ("AP", "AP50", "AP75"):
        rows = [[name] + [_ap(impact[step][name][metric]) for step in steps] for name in slices]
        table = _table(f"ap-impact-{key}-{metric}", ["slice"] + [STEP_LABELS[s] for s in steps], rows,
                       f"{metric} after fixing the errors cumulatively, left to right")
        parts.append(table if metric == "AP" else f"<details><summary>{metric}</summary>{table}</details>")
    bars = []
    for name in slices:
        values = [impact[s][name]["AP"] for s in steps]
        if values[0] < 0:
            continue
        bars.append((name, [values[0]] + [max(b - a, 0.0) for a, b in zip(values, values[1:])]))
    parts.append(stacked_bars(bars, [STEP_LABELS[s] for s in steps], title=f"AP impact ({FILE_LABELS[key]})"))
    return "".join(parts)


def _taxonomy_section(summary: dict, key: str) -> str:
    tax, categories = summary["files"][key]["taxonomy"], summary["categories"]
    header = ["joint", "joints"] + [f"{c} %" for c in categories] + [f"{c} n" for c in categories]

    def row(name, block):
        return ([name, block["joints"]] + [f"{100 * block['rates'][c]:.1f}" for c in categories]
                + [block["counts"][c] for c in categories])

    rows = [row(name, block) for name, block in tax["per_joint"].items()] + [row("all joints", tax["overall"])]
    colors = [CATEGORY_COLORS[c] for c in categories]
    chart = stacked_bars([(name, [block["rates"][c] for c in categories]) for name, block in tax["per_joint"].items()]
                         + [("all joints", [tax["overall"]["rates"][c] for c in categories])],
                         categories, colors, title=f"Keypoint errors per joint ({FILE_LABELS[key]})")
    slice_rows = [row(name, block) for name, block in tax["slices"].items()]
    slice_chart = stacked_bars([(name, [block["rates"][c] for c in categories]) for name, block in tax["slices"].items()],
                               categories, colors, title=f"Keypoint errors per slice ({FILE_LABELS[key]})")
    return (f"<h3>{escape(FILE_LABELS[key])}</h3>" + _table(f"taxonomy-{key}", header, rows) + chart
            + _table(f"taxonomy-slices-{key}", ["slice"] + header[1:], slice_rows) + slice_chart)


def _slices_section(summary: dict) -> str:
    files = list(summary["files"])
    groups = []
    for name in summary["slices"]:
        values = [summary["files"][f]["ap_impact"]["original"][name]["AP"] for f in files]
        if all(v >= 0 for v in values):
            groups.append((name, values))
    sizes = summary["slice_sizes"]
    rows = [[name, sizes.get(name, "")] + [_ap(summary["files"][f]["ap_impact"]["original"][name][m])
                                           for f in files for m in ("AP", "AP50", "AP75")]
            for name in summary["slices"]]
    header = ["slice", "images / persons"] + [f"{FILE_LABELS[f]} {m}" for f in files for m in ("AP", "AP50", "AP75")]
    return (_table("slice-ap", header, rows)
            + grouped_bars(groups, [FILE_LABELS[f] for f in files], PALETTE[:len(files)], title="AP per slice"))


def _transition_section(summary: dict) -> str:
    trans = summary["transitions"]
    states = trans["states"]
    parts = ['<p class="note">Rows: state of the GT joint with the <i>before</i> file; columns: with the '
             '<i>results</i> file. <b>Replaced</b> joints had a score below 0.2 in the before file '
             '(OPEC-Net takes their position from the refiner); <b>kept</b> joints are all others.</p>']
    for group in ("replaced", "kept"):
        block = trans[group]
        rows = [[f"{s} before"] + row for s, row in zip(states, block["total"])]
        parts.append(f"<h3>{group} joints</h3>")
        parts.append(_table(f"transitions-{group}", ["before \\ after"] + states, rows))
        rates = [[s, f"{100 * block['rates_before'][s]:.1f}", f"{100 * block['rates_after'][s]:.1f}"] for s in states]
        parts.append(_table(f"transition-rates-{group}", ["state", "before %", "after %"], rates))
        per_joint = "".join(
            _table(f"transitions-{group}-{joint}", [f"{joint}: before \\ after"] + states,
                   [[s] + row for s, row in zip(states, matrix)])
            for joint, matrix in block["per_joint"].items())
        parts.append(f"<details><summary>per joint</summary>{per_joint}</details>")
    return "".join(parts)


def _persons_section(summary: dict, images: dict[int, str] | None) -> str:
    persons = summary["persons"]
    parts = [f'<p class="note">{persons["improved"]} persons improved, {persons["degraded"]} degraded; mean OKS change '
             f'{persons["mean_change"]:+.4f} (OKS with the detection matched at 0.1; 0 when undetected).</p>']
    if images:
        parts.append('<p class="note">GT thin white; before <span class="swatch" style="background:#ff8c00"></span>'
                     'orange; after <span class="swatch" style="background:#1e6eff"></span>blue.</p>')
    for group, title in (("helped", "Most improved"), ("hurt", "Most degraded")):
        rows = [[p["annotation"], p["image_id"], f"{p['oks_before']:.3f}", f"{p['oks_after']:.3f}", f"{p['change']:+.3f}"]
                for p in persons[group]]
        parts.append(f"<h3>{title}</h3>")
        parts.append(_table(f"persons-{group}", ["GT annotation", "image", "OKS before", "OKS after", "change"], rows))
        if images:
            figures = "".join(
                f'<figure><img class="person" alt="GT annotation {p["annotation"]}" src="{images[p["annotation"]]}">'
                f'<figcaption>#{p["annotation"]} image {p["image_id"]}: {p["oks_before"]:.2f} &rarr; '
                f'{p["oks_after"]:.2f}</figcaption></figure>'
                for p in persons[group] if p["annotation"] in images)
            parts.append(f'<div class="gallery" id="gallery-{group}">{figures}</div>')
    return "".join(parts)


def render_html(summary: dict, images: dict[int, str] | None = None) -> str:
    """The report page. ``images``: {GT annotation position: PNG data URI} for the gallery."""
    files = summary["files"]
    meta = [["dataset", summary["dataset"]], ["protocol", summary["protocol"]], ["ground truth", summary["gt"]]]
    meta += [[FILE_LABELS[key], block["file"]] for key, block in files.items()]
    meta += [[f"{FILE_LABELS[key]}: detections / GT persons matched at OKS 0.1",
              f"{block['detections']} / {block['matched_persons']} of {block['gt_persons']}"] for key, block in files.items()]
    order = [k for k in ("before", "results") if k in files]
    sections = [("impact", "AP impact"), ("errors", "Keypoint errors"), ("slices", "Occlusion slices")]
    if "transitions" in summary:
        sections += [("before-after", "Before / after"), ("persons", "Persons")]
    nav = " &middot; ".join(f'<a href="#{anchor}">{title}</a>' for anchor, title in sections)
    body = ["<h1>Occlusion diagnosis</h1>", f"<nav>{nav}</nav>", _table("meta", ["", "value"], meta),
            '<h2 id="impact">AP impact of each error type</h2>',
            '<p class="note">Each column fixes one more error type on top of the previous ones: joints of the '
            'category moved onto their GT joint, then optimal rescoring, then background false positives '
            'removed, then undetectable GTs ignored. Definitions: docs/analysis.md.</p>']
    body += [_impact_section(summary, key) for key in order]
    body.append('<h2 id="errors">Keypoint errors</h2>')
    body.append('<p class="note">Per labelled joint of every GT person matched at OKS 0.1: good ks &ge; 0.85, '
                'jitter 0.5 &le; ks &lt; 0.85, inversion (close to the mirrored joint), swap (close to another '
                'person\'s joint), miss.</p>')
    body += [_taxonomy_section(summary, key) for key in order]
    body += ['<h2 id="slices">Occlusion slices</h2>', _slices_section(summary)]
    if "transitions" in summary:
        body += ['<h2 id="before-after">Before / after refinement</h2>', _transition_section(summary),
                 '<h2 id="persons">Persons the refinement helped and hurt most</h2>', _persons_section(summary, images)]
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Occlusion diagnosis</title>"
            f"<style>{CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n")


def write_report(out: str | os.PathLike, summary: dict, html: str) -> Path:
    """Write ``index.html`` and ``summary.json`` into ``out`` atomically (see module docstring)."""
    out = Path(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        (tmp / "index.html").write_text(html, encoding="utf-8")
        with (tmp / "summary.json").open("w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=1)
            handle.write("\n")
        os.chmod(tmp, 0o777 & ~_umask())
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, old / "report")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
