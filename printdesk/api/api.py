from ninja import NinjaAPI

api = NinjaAPI(title="printdesk API", version="1", urls_namespace="api")
