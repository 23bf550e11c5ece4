# xlie: the result tables of three cross-lingual IE papers, cell by cell.
#   snakemake                               embedded demo (CPU, no network, minutes)
#   snakemake -n --config preset=paper      plan the paper-scale reproduction
from snakemake.utils import min_version

from xlie.pipeline.config import check_config_file

min_version("9.0")
# A config.yaml that does not parse fails naming file:line:column (Snakemake's own message names neither).
check_config_file("config.yaml")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/aggregate.smk"
# Each paper's own rules (its data) and the input functions and checks they use.
include: "workflow/rules/papers/topro.smk"
include: "workflow/rules/papers/prompt_xre.smk"
include: "workflow/rules/papers/alignxie.smk"


rule all:
    default_target: True
    input:
        get_final_output(),


# Once per run, before its first job: each model's tokenizer and config against what its GPU jobs
# need (python -m xlie preflight); not in a dry run. Then the existing outputs of every job about to
# run are kept aside (hard links in .snakemake/xlie/previous/): Snakemake deletes a job's outputs
# before it starts, and a failed job gets them back (onerror).
onstart:
    preflight_check()
    keep_previous_outputs()


onerror:
    restore_previous_outputs()


onsuccess:
    drop_previous_outputs()
    print_summary()
