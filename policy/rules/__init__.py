"""The pack's rules as pure functions: `(resource name, type, inputs) -> violations`.

Each rule returns one message per violation, naming the resource, the
property and the fix. `policy/__main__.py` turns them into mandatory
pulumi-policy policies; the tests call them directly on every stack shape.
"""
