"""Occlusion diagnosis: where the AP is lost, joint by joint, before and after refinement.

Ronchi & Perona's keypoint error taxonomy (good / jitter / inversion / swap / miss), the AP
impact of fixing each error type, occlusion slices (crowd level, overlap, visibility), before /
after transitions and the self-contained HTML report. docs/analysis.md has the definitions.
"""
from opec.analysis.monitor import ReplacedJointRates
from opec.analysis.scene import Scene, Truth
from opec.analysis.summary import build_summary
from opec.analysis.taxonomy import CATEGORIES, classify

__all__ = ["CATEGORIES", "ReplacedJointRates", "Scene", "Truth", "build_summary", "classify"]
