"""Lamina benchmark function: returns the event unchanged (handler `app.handler`)."""


def handler(event, context):
    return event
