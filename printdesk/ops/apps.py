from django.apps import AppConfig


class OpsConfig(AppConfig):
    # No models: the app is here for its `backup` and `restore` commands.
    name = "printdesk.ops"
