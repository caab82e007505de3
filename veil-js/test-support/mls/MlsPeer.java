// A Java MLS member (veil-e2ee's MlsGroupSession on bcmls) driven line by line over stdin/stdout, for the node-level
// Java <-> browser-code interop test (test/e2ee/mls-java-interop.test.mjs). Run with the single-file launcher:
//   java -cp veil-client/target/veil-client-all.jar:veil-server/target/veil-server.jar veil-js/test-support/mls/MlsPeer.java
// Commands (byte strings in standard base64), one answer line each ("ok ..." or "error <message>"):
//   keypackage ID [SEEDHEX]       -> ok KP                 a fresh key package for connection ID (kept for join),
//                                                          with SEEDHEX: vouched for by that device key (§4.9)
//   create GID [ES]               -> ok                    found a group with the last key package; with ES (an
//                                                          ExternalSender) naming that external sender (§4.8)
//   server                        -> ok N ES               a new veil-server MlsExternalSender (number N, its
//                                                          ExternalSender ES): the server's proposals, Java-made
//   propose N add GID EPOCH KP    -> ok MSG                server N's Add proposal of key package message KP
//   propose N remove GID EPOCH L  -> ok MSG                server N's Remove proposal of leaf L
//   fingerprints                  -> ok ID=FP;ID=FP...     device fingerprints of the roster ('_' for ' ')
//   join WELCOME                  -> ok                    join from a Welcome that adds the last key package
//   commit KP,KP|- LEAF,LEAF|-    -> ok COMMIT WELCOME|-   a pending commit adding / removing
//   handle MSG                    -> ok applied|own|stale|outofsync|removed|proposal
//   state                         -> ok EPOCH LEAF CODE BASEKEYHEX ID,ID... DATAKEYHEX   (roster in leaf order;
//                                                          DATAKEYHEX = MLS-Exporter("Veil 1.0 data", "", 16))
import dev.veil.e2ee.identity.DeviceIdentity;
import dev.veil.e2ee.mls.MlsCommit;
import dev.veil.e2ee.mls.MlsCredential;
import dev.veil.e2ee.mls.MlsEpochKeys;
import dev.veil.e2ee.mls.MlsGroupSession;
import dev.veil.e2ee.mls.MlsHandled;
import dev.veil.e2ee.mls.MlsKeyPackage;
import dev.veil.e2ee.mls.MlsMember;
import dev.veil.e2ee.mls.MlsVerificationCode;
import dev.veil.server.MlsExternalSender;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

public class MlsPeer {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        SecureRandom random = new SecureRandom();
        MlsKeyPackage kp = null;
        MlsGroupSession g = null;
        List<MlsExternalSender> servers = new ArrayList<>();
        Base64.Decoder dec = Base64.getDecoder();
        Base64.Encoder enc = Base64.getEncoder();
        for (String line; (line = in.readLine()) != null; ) {
            String[] a = line.trim().split(" ");
            try {
                switch (a[0]) {
                    case "keypackage" -> {
                        kp = a.length > 2 ? MlsKeyPackage.create(a[1], DeviceIdentity.fromSeed(HexFormat.of().parseHex(a[2])))
                                : MlsKeyPackage.create(a[1].getBytes(StandardCharsets.UTF_8));
                        System.out.println("ok " + enc.encodeToString(kp.bytes()));
                    }
                    case "create" -> {
                        g = MlsGroupSession.create(dec.decode(a[1]), kp, random, a.length > 2 ? dec.decode(a[2]) : null);
                        System.out.println("ok");
                    }
                    case "server" -> {
                        servers.add(new MlsExternalSender(random));
                        System.out.println("ok " + (servers.size() - 1) + " "
                                + enc.encodeToString(servers.get(servers.size() - 1).externalSender()));
                    }
                    case "propose" -> {
                        MlsExternalSender es = servers.get(Integer.parseInt(a[1]));
                        byte[] msg = a[2].equals("add") ? es.addProposal(dec.decode(a[3]), Long.parseLong(a[4]), dec.decode(a[5]))
                                : es.removeProposal(dec.decode(a[3]), Long.parseLong(a[4]), Integer.parseInt(a[5]));
                        System.out.println("ok " + enc.encodeToString(msg));
                    }
                    case "fingerprints" -> {
                        List<String> fps = new ArrayList<>();
                        for (MlsMember m : g.roster()) {
                            String fp = MlsCredential.deviceFingerprint(m.identity());
                            fps.add(m.connectionId() + "=" + (fp == null || !m.credentialVerifies() ? "-" : fp.replace(' ', '_')));
                        }
                        System.out.println("ok " + String.join(";", fps));
                    }
                    case "join" -> {
                        g = MlsGroupSession.join(kp, dec.decode(a[1]), random);
                        System.out.println("ok");
                    }
                    case "commit" -> {
                        List<byte[]> adds = new ArrayList<>();
                        if (!a[1].equals("-")) {
                            for (String s : a[1].split(",")) {
                                adds.add(dec.decode(s));
                            }
                        }
                        List<Integer> removes = new ArrayList<>();
                        if (!a[2].equals("-")) {
                            for (String s : a[2].split(",")) {
                                removes.add(Integer.parseInt(s));
                            }
                        }
                        MlsCommit c = g.commit(adds, removes);
                        System.out.println("ok " + enc.encodeToString(c.commit()) + " "
                                + (c.welcome() == null ? "-" : enc.encodeToString(c.welcome())));
                    }
                    case "handle" -> {
                        MlsHandled h = g.handle(dec.decode(a[1]));
                        String r = h instanceof MlsHandled.Applied ap ? (ap.ownCommit() ? "own" : "applied")
                                : h instanceof MlsHandled.Stale ? "stale" : h instanceof MlsHandled.OutOfSync ? "outofsync"
                                : h instanceof MlsHandled.Removed ? "removed" : "proposal";
                        System.out.println("ok " + r);
                    }
                    case "state" -> {
                        MlsEpochKeys k = MlsEpochKeys.of(g, dev.veil.e2ee.sframe.CipherSuite.AES_128_GCM_SHA256_128);
                        List<String> ids = new ArrayList<>();
                        for (MlsMember m : g.roster()) {
                            ids.add(m.connectionId());
                        }
                        System.out.println("ok " + g.epoch() + " " + g.ownLeaf() + " "
                                + MlsVerificationCode.of(g.epochAuthenticator()).replace(' ', '_') + " "
                                + HexFormat.of().formatHex(k.baseKey().toByteArray()) + " " + String.join(",", ids) + " "
                                + HexFormat.of().formatHex(g.export("Veil 1.0 data", new byte[0], 16)));
                    }
                    default -> System.out.println("error unknown command " + a[0]);
                }
            } catch (Exception e) {
                System.out.println("error " + (e.getMessage() == null ? e.toString() : e.getMessage()).replace('\n', ' ')
                        + (e.getCause() != null ? " (" + e.getCause() + ")" : ""));
            }
            System.out.flush();
        }
    }
}
