"""Pictures: skeletons, before/after panels, mAP curves (the README's pipeline figure: tools/make_figures.py)."""
from opec.visualization.curves import plot_map_curve
from opec.visualization.panels import before_after_panel
from opec.visualization.skeleton import draw_poses, joint_colors, limb_colors

__all__ = ["before_after_panel", "draw_poses", "joint_colors", "limb_colors", "plot_map_curve"]
