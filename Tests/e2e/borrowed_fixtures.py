"""The fake API server fixture for the test directories beside this one (Tests/image,
Tests/monitoring). pytest imports each directory's conftest.py as a module named `conftest`,
so theirs cannot import this directory's by that name; this loads it under another."""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("e2e_conftest", Path(__file__).with_name("conftest.py"))
e2e_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e_conftest)
fake_api = e2e_conftest.fake_api
