import os

# if env == "sg-prod": ignored
def pick(env):
    if env == "online":
        pass
    if env in ("pre", "sim"):
        pass
    if env not in ["us1"]:
        pass
    match env:
        case "sg-prod":
            pass
    doc = """
    env == "online" inside a docstring is text, not a comparison
    """
    host = 'redis.sg.internal'
    url = f"http://{host}:6379"
    peer = r"10.20.30.40"
    return "online", doc, url, peer
x = "redis-master"
