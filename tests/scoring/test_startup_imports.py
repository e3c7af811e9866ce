"""scikit-learn (and numpy with it) is imported when weights are learned, not by every process that starts Django."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

REPO = Path(__file__).resolve().parents[2]


def test_django_setup_imports_neither_scikit_learn_nor_numpy():
    db = settings.DATABASES["default"]
    code = (
        "import json, sys, django; django.setup(); "
        "print(json.dumps(sorted(m for m in ('sklearn', 'numpy', 'scipy') if m in sys.modules)))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        # The server the tests run on, so the child never starts the embedded one.
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
