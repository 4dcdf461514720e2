"""A NoneBot2 bot (nonebot-adapter-onebot) run as a subprocess by the tests: an independent
OneBot v11 client. It connects to the forward WebSocket in argv[1] (token argv[2]), prints one
JSON line per parsed event (its class name and fields) and runs API calls read as JSON lines
on stdin (``{"id": .., "action": .., "params": {..}}``), printing each result."""

import asyncio
import json
import sys
import threading

import nonebot
from nonebot.adapters.onebot.v11 import Adapter, Bot, Event
from nonebot.adapters.onebot.v11 import Message
from nonebot.message import event_preprocessor


def out(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


nonebot.init(driver="~none+~websockets", onebot_ws_urls={sys.argv[1]}, onebot_access_token=sys.argv[2] or None,
             log_level="WARNING")
driver = nonebot.get_driver()
driver.register_adapter(Adapter)


@event_preprocessor
async def _record(event: Event):
    out({"event": type(event).__name__, "data": json.loads(event.model_dump_json())})


async def _call(bot: Bot, line: str):
    req = json.loads(line)
    params = req.get("params") or {}
    if isinstance(params.get("message"), str) and req.get("cq"):
        params["message"] = Message(params["message"])
    try:
        result = await bot.call_api(req["action"], **params)
        out({"id": req["id"], "ok": True, "result": result})
    except Exception as e:
        out({"id": req["id"], "ok": False, "error": type(e).__name__, "info": str(e)})


@driver.on_bot_connect
async def _connected(bot: Bot):
    loop = asyncio.get_running_loop()

    def read_stdin():
        for line in sys.stdin:
            if line.strip():
                asyncio.run_coroutine_threadsafe(_call(bot, line), loop)

    threading.Thread(target=read_stdin, name="stdin", daemon=True).start()
    out({"connected": bot.self_id})


nonebot.run()
