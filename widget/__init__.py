"""The website chat widget: static files (static/), the demo website server
(serve.py) and the socket.io channel the widget talks to (rasa_channel.py)."""
