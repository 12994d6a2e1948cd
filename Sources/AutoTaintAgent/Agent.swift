// Services of the agent live here.
