"""The realtime channel (MQTT 3.1.1 over WebSocket at /ws/v2): see hub.py."""
