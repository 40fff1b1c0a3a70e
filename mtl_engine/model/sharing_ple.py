"""Progressive Layered Extraction (PLE): CGC extraction networks stacked in levels.

Tang, Liu, Zhao & Gong, "Progressive Layered Extraction (PLE): A Novel Multi-Task Learning (MTL)
Model for Personalized Recommendations", RecSys 2020, section 4.3: at level j task k's gated
output is g^{k,j} = w^{k,j}(g^{k,j-1}) S^{k,j}(g^{k,j-1}), its experts and its gate reading its
own output of the level below (the input x at level 1); below the top level a shared gate mixes ALL
experts of the level (every task's, then the shared ones) into the input of the next level's shared
experts and shared gate. The heads read the top level's task outputs. With one level it is CGC
(sharing_cgc.py), which runs the same code.

Which trunk layers each level's experts copy: the trunk is cut into `levels` consecutive groups of
as equal a length as possible, earlier groups one layer longer where it does not divide (like
numpy.array_split: 5 layers in 2 levels are trunk[0:3] and trunk[3:5]); a trunk with fewer layers
than levels is refused (sharing.params.levels). So [linear, relu, linear, relu] in 2 levels gives
each level experts of one linear + relu.

Shared parameters: every level's shared experts and shared gates; task k's experts and gates at
every level are task k's. There is no single shared representation when levels > 1 (the shared
gates also carry task experts' outputs upward), so grad_mode "representation" needs levels = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from ..registry import param
from .scheme import Body, Context, Scheme, SchemePlan, register_scheme
from .sharing_cgc import PAPER, ExpertCounts, build_levels, plan_levels
from .summary import Planner


def level_bounds(n_layers: int, levels: int) -> list[tuple[int, int]]:
    """trunk[begin:end] of each level: consecutive, lengths differing by at most one, the longer
    ones first."""
    size, extra = divmod(n_layers, levels)
    bounds, begin = [], 0
    for j in range(levels):
        end = begin + size + (1 if j < extra else 0)
        bounds.append((begin, end))
        begin = end
    return bounds


@register_scheme("ple", "PLE: stacked CGC levels, a shared gate over all experts feeding the next "
                        "level; each level's experts copy one of `levels` consecutive groups of "
                        "trunk layers (Tang et al., RecSys 2020)", paper=PAPER)
class PLE(Scheme):
    @dataclass(frozen=True)
    class Params(ExpertCounts):
        levels: int = param(2, "extraction levels; the trunk's layers are cut into this many "
                               "consecutive groups (earlier ones longer by one where it does not "
                               "divide) and each level's experts copy one group", low=1)

    def plan(self, ctx: Context, planner: Planner) -> SchemePlan:
        levels, n = ctx.params.levels, len(ctx.trunk)
        if levels > 1 and n < levels:
            planner.fail(ConfigError("sharing.params.levels",
                                     f"{levels} levels need a trunk of at least {levels} layers "
                                     f"(each level's experts copy a consecutive group of them); "
                                     f"the trunk has {n}"))
            return SchemePlan(tuple(None for _ in ctx.tasks), None)
        return plan_levels(ctx, planner, level_bounds(n, levels), "{path}.gate[{level}]")

    def build_body(self, ctx: Context, plan: SchemePlan) -> Body:
        return build_levels(ctx, plan)
