"""CA + server certificate for 127.0.0.1/localhost, made with the openssl CLI."""
import os
import subprocess


def ensure_certs(state_dir):
    ca_crt = os.path.join(state_dir, "ca.crt")
    ca_key = os.path.join(state_dir, "ca.key")
    srv_crt = os.path.join(state_dir, "server.crt")
    srv_key = os.path.join(state_dir, "server.key")
    if all(os.path.exists(p) for p in (ca_crt, ca_key, srv_crt, srv_key)):
        return ca_crt, srv_crt, srv_key
    csr = os.path.join(state_dir, "server.csr")
    ext = os.path.join(state_dir, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=60)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", ca_key, "-out", ca_crt, "-days", "7", "-subj", "/CN=fakeapi-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", srv_key, "-out", csr, "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-out", srv_crt, "-days", "7", "-extfile", ext)
    for p in (ca_key, srv_key):
        os.chmod(p, 0o600)
    return ca_crt, srv_crt, srv_key
