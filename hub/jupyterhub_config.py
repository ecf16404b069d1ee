"""JupyterHub configuration of the course's hub (``make hub``; see "Running a class on JupyterHub" in
book/instructors.md).

Every setting that depends on the machine comes from ``hub.json`` in the hub's state folder, which
``tools/hub.py setup`` writes; JupyterHub is started in that folder (its database, cookie secret and
proxy token live there). Users are real Unix accounts; each one's server is
``python -m jupyterhub.singleuser`` from the course environment, run as that user.
"""

import json
import os
from pathlib import Path

c = get_config()  # noqa: F821  (injected by traitlets)

HUB_DIR = Path(os.environ.get("DLCOURSE_HUB_DIR", os.getcwd())).resolve()
S = json.loads((HUB_DIR / "hub.json").read_text(encoding="utf-8"))

# -- where the hub listens; its state ------------------------------------------------------------------
c.JupyterHub.bind_url = f"http://{S['ip']}:{S['port']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{HUB_DIR / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(HUB_DIR / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(HUB_DIR / "jupyterhub.pid")
# The proxy: configurable-http-proxy from npm, pinned in hub/package.json (make hub installs it).
c.ConfigurableHTTPProxy.command = [S["proxy"]]
c.ConfigurableHTTPProxy.pid_file = str(HUB_DIR / "jupyterhub-proxy.pid")
# Stopping the hub stops every user's server and the proxy with it.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# -- who may log in -------------------------------------------------------------------------------------
# PAM (the machine's own accounts) by default. To use the institution's login instead, set
# "authenticator" in hub.json (tools/hub.py setup --authenticator ...) and add that authenticator's
# settings below; see the instructors' page (OAuthenticator, or LTI with jupyterhub-ltiauthenticator).
c.JupyterHub.authenticator_class = S.get("authenticator", "pam")
# Only the course: its students (the Unix group that make hub-users fills) and its instructors.
c.Authenticator.allowed_users = set(S["instructors"])
c.LocalAuthenticator.allowed_groups = {S["group"]}
c.Authenticator.admin_users = set(S["instructors"])
c.Authenticator.delete_invalid_users = True
# Instructors administer the hub, but do not get a key to students' servers.
c.JupyterHub.admin_access = False

# -- each user's server: the course environment, as that user -----------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [S["python"], "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# Importing TensorFlow on a busy machine is slow: give a server time to come up.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180


def _config_path(spawner):
    """The Jupyter configuration of the user's role: every user reads the course's nbgrader settings
    (the exchange and the course id); students' servers leave out the formgrader and the instructor's
    menus, instructors' servers have everything."""
    role = "instructor" if spawner.user.name in S["instructors"] else "student"
    return os.pathsep.join([str(HUB_DIR / "etc" / role), str(HUB_DIR / "etc" / "common")])


c.Spawner.environment = {
    "PATH": f"{Path(S['python']).parent}:/usr/local/bin:/usr/bin:/bin",
    "JUPYTER_CONFIG_PATH": _config_path,
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "PYTHONHASHSEED": "0",
}
