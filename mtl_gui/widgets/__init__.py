"""Generic widgets: schema-driven parameter forms, layer list editor, message bar.

Importing any of them runs this first, which loads every module that registers a form editor
(editors.py), so a form always finds an editor for each Param type. These modules import the
registry and the form, never this package, so this adds no circle.
"""

from . import basic_editors, layer_button  # noqa: F401 - they register the form editors
