"""ToPro's task languages."""

# The ToPro task language lists, English first, in the authors' order (their result files'
# column order; ../shared/specs/topro.md).
TASK_LANGUAGES: dict[str, tuple[str, ...]] = {
    "panx": tuple(
        "en af ar az bg bn de el es et eu fa fi fr gu he hi hu id it ja jv ka kk ko lt ml mr ms my "
        "nl pa pl pt qu ro ru sw ta te th tl tr uk ur vi yo zh".split()
    ),
    "udpos": tuple(
        "en af ar bg de el es et eu fa fi fr he hi hu id it ja kk ko lt mr nl pl pt ro ru ta te th "
        "tl tr uk ur vi wo yo zh".split()
    ),
}
