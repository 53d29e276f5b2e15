"""The app's server-like setting (tiny checkpoints, a samples folder) shared with tests/app."""

from tests.app.conftest import app_environment, app_folders  # noqa: F401 - fixtures re-exported
