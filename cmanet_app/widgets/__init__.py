"""The app's widgets: one per file; they display :class:`cmanet_app.state.AppState` and forward the
user's actions to :class:`cmanet_app.controller.Controller`."""
