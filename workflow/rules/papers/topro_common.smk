# ToPro's data: what its rules (topro.smk) read and where they write.
from xlie.papers.topro.ud import UD27_LANGUAGES, treebank_files

XTREME_DIR = config["data"]["xtreme"]["dir"]


def ud_test_treebanks(wildcards):
    """The language's test CoNLL-U files when data.ud.dir exists (else convert_ud says where to get UD)."""
    return [
        str(p) for p in treebank_files(config["data"]["ud"]["dir"], wildcards.ud_lang)
    ]
