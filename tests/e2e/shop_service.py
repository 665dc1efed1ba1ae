"""The shop service the telemetry and dashboard tests drive through golive dev: its handlers' source
(app.py: public, validated, authorized and failing routes; raw.py: answers API Gateway cannot use, throttled and slow
routes). Each test writes its own golive.toml, which picks the routes, limits and alarms it needs."""

APP = '''
from golive import App, logger
from golive.security.auth import jwt_from_env

app = App("shop", auth=jwt_from_env())


@app.get("/items/{id}", public=True)
def get_item(request, id):
    logger.info("item read", item_id=id)
    return {"id": id}


@app.post("/items", public=True, body={"type": "object", "required": ["name"], "additionalProperties": False,
                                       "properties": {"name": {"type": "string"}}})
def create_item(request):
    return {"name": request.json["name"]}, 201


@app.get("/private")
def private(request):
    return {"who": request.principal}


def load_price(item):
    raise LookupError(f"no price for {item}")


@app.get("/boom", public=True)
def boom(request):
    item = request.query.get("item", "x")
    logger.info("pricing item", item=item, currency="EUR")
    return {"price": load_price(item)}


handler = app.handler
'''

RAW = '''
import json
import time


def handler(event, context):
    print("raw handler saw", event["resource"])
    if event["resource"] == "/malformed":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if event["resource"] == "/slow":
        time.sleep(1.5)
    return {"statusCode": 200, "body": json.dumps({"ok": True})}
'''
