"""HTTP side of callbot: the media websocket endpoint, the softphone page, health."""
