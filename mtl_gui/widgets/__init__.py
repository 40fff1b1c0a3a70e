"""Generic widgets: schema-driven parameter forms, layer list editor, message bar."""
