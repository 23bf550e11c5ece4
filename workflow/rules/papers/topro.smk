# ToPro (2024): data the hub does not have. Its UDPOS languages from UD 2.7 (lt pl uk ro wo),
# converted from a local Universal Dependencies release (config key data.ud.dir) into the
# XTREME layout, where source 'local' or 'auto' reads them.


include: "topro_common.smk"


# One UD 2.7 language's test treebanks -> XTREME's udpos/test-<lang>.tsv.
rule convert_ud:
    input:
        ud_test_treebanks,
    output:
        f"{XTREME_DIR}/udpos/test-{{ud_lang}}.tsv",
    log:
        "logs/convert_ud/{ud_lang}.log",
    wildcard_constraints:
        ud_lang="|".join(UD27_LANGUAGES),
    localrule: True
    conda:
        "../../../envs/xlie.yaml"
    params:
        ud_dir=config["data"]["ud"]["dir"],
    script:
        "../../scripts/papers/topro/convert_ud.py"
