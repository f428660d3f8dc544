# The fixedpoints sweep: data -> train -> fixed points -> plots for every (task, architecture, seed)
# of config.yaml, then the summary table and figures in results/summary/.
from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/fixed_points.smk"
include: "workflow/rules/topology.smk"
include: "workflow/rules/continuation.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/batches.smk"
include: "workflow/rules/aggregate.smk"


rule all:
    default_target: True
    input:
        all_targets(),
