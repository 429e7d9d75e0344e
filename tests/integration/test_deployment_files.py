"""The deployment examples in etc/ hold together: the Kubernetes manifests
parse (no cluster here), their probes use the control socket the ConfigMap's
config names, and that config passes wharfd --check-config; the HAProxy
example passes haproxy -c."""

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml

from wharf_harness import PLUGIN_DIR, WHARFD

SOURCE = os.environ["WHARF_SOURCE_DIR"]


def etc(*path):
    return os.path.join(SOURCE, "etc", *path)


class Kubernetes(unittest.TestCase):
    def setUp(self):
        with open(etc("kubernetes", "wharf.yaml")) as manifests:
            self.documents = {document["kind"]: document
                              for document in yaml.safe_load_all(manifests)}

    def test_the_manifests_are_a_config_map_a_deployment_and_a_service(self):
        self.assertEqual(sorted(self.documents), ["ConfigMap", "Deployment", "Service"])
        deployment = self.documents["Deployment"]
        self.assertEqual(self.documents["Service"]["spec"]["selector"],
                         deployment["spec"]["selector"]["matchLabels"])
        container, = deployment["spec"]["template"]["spec"]["containers"]
        mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
        config_file = container["command"][container["command"].index("--config") + 1]
        self.assertEqual(config_file, os.path.join(mounts["config"], "wharf.ini"))
        admin = re.search(r"^admin = (\S+)$", self.documents["ConfigMap"]["data"]["wharf.ini"],
                          re.M).group(1)
        self.assertEqual(os.path.dirname(admin), mounts["run"])
        for probe in ("readinessProbe", "livenessProbe"):
            command = container[probe]["exec"]["command"]
            self.assertEqual(command[command.index("--admin") + 1], admin, probe)
            self.assertIn("status", command)

    def test_the_container_runs_with_what_the_master_keeps_and_plugins_as_a_user(self):
        container, = self.documents["Deployment"]["spec"]["template"]["spec"]["containers"]
        context = container["securityContext"]
        self.assertEqual((context["allowPrivilegeEscalation"], context["readOnlyRootFilesystem"]),
                         (False, True))
        self.assertEqual(context["capabilities"]["drop"], ["ALL"])
        # The master's own list (host/master/MasterCapabilities.cpp), no more.
        with open(os.path.join(SOURCE, "host", "master", "MasterCapabilities.cpp")) as source:
            kept = set(re.findall(r"CAP_([A-Z_]+)", source.read())) - {"SETPCAP"}
        self.assertEqual(set(context["capabilities"]["add"]), kept)
        self.assertRegex(self.documents["ConfigMap"]["data"]["wharf.ini"], r"(?m)^user = wharf$")

    def test_the_config_map_passes_check_config(self):
        text = self.documents["ConfigMap"]["data"]["wharf.ini"]
        text = text.replace("[host]\n", f"[host]\nplugin_dir = {PLUGIN_DIR}\n", 1)
        try:  # the image's user, made by the package's postinst; else one every machine has
            pwd.getpwnam("wharf")
        except KeyError:
            text = text.replace("\nuser = wharf\n", "\nuser = nobody\n")
        with tempfile.NamedTemporaryFile("w", suffix=".ini") as config:
            config.write(text)
            config.flush()
            check = subprocess.run([WHARFD, "--config", config.name, "--check-config"],
                                   capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)


class HAProxyExample(unittest.TestCase):
    def test_it_starts_under_a_20000_descriptor_limit_and_keeps_ftp_control_connections(self):
        with open(etc("haproxy", "wharf.cfg")) as config:
            text = config.read()
        maxconn = int(re.search(r"(?m)^\s+maxconn (\d+)$", text).group(1))
        self.assertLess(2 * maxconn + 100, 20000)  # two descriptors a connection, and its own
        ftp = text[text.index("\nbackend wharf-ftp"):].lstrip()
        self.assertRegex(ftp[:ftp.index("\n\n")], r"timeout tunnel \d+h")

    def test_it_is_valid_and_sends_the_header_to_every_server(self):
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            self.skipTest("needs Debian's haproxy")
        check = subprocess.run([haproxy, "-c", "-f", etc("haproxy", "wharf.cfg")],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        with open(etc("haproxy", "wharf.cfg")) as config:
            servers = [line.split() for line in config if line.strip().startswith("server ")]
        self.assertEqual(len(servers), 6)  # echo and FTP control: 2 each; FTP data: 1 each
        self.assertTrue(all("send-proxy-v2" in server for server in servers))
        # Health checks carry a header too (on the data ranges there are none).
        self.assertTrue(all("check-send-proxy" in server for server in servers if "check" in server))
        self.assertEqual(sum("check" in server for server in servers), 4)
