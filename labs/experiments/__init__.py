"""The labs themselves, one module per lab; each imports torch.

`labs.catalog` names a lab's module (`LabSpec.module`), and `labs.runner`
imports it only when the lab runs, so nothing outside this package pays for
torch at import.
"""
