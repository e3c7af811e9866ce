import pytest

from leads.imports.services import ImportOptions, import_file


def csv_text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def run_import(text: str, mapping: dict | None = None, user=None, **options):
    """Import `text` with `mapping` (guessed when None) and options, the way the command line does."""
    from leads.imports.services import guess_mapping, read_header

    mapping = mapping if mapping is not None else guess_mapping(read_header(text))
    return import_file(text=text, mapping=mapping, options=ImportOptions(**options), user=user)


@pytest.fixture
def small_chunks(settings):
    settings.IMPORT_CHUNK_SIZE = 2
