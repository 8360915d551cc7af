import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.app.Connection;
import ca.uhn.hl7v2.app.Initiator;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.parser.GenericModelClassFactory;
import ca.uhn.hl7v2.parser.Parser;
import ca.uhn.hl7v2.util.Terser;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * HapiSend sends HL7 files to an MLLP server with HAPI HL7v2's initiator,
 * one connection for all of them, and prints one tab-separated line per
 * file:
 *
 * <pre>
 *   FILE  ACK       MSH-10  MSA-1  MSA-2  MSH-3  MSH-4  MSH-5  MSH-6  MSH-12
 *   FILE  NOANSWER  MSH-10               (MSH-15 NE, or ER: no answer wanted)
 *   FILE  ERROR     MSH-10  reason
 * </pre>
 *
 * HAPI's initiator ties an answer to its message by MSA-2 alone: an ACK
 * whose MSA-2 is not the message's MSH-10 is never returned, and the send
 * times out (ERROR). Messages whose MSH-15 is NE or ER (the corpus is
 * valid, so ER means no answer) are sent with a short timeout that must
 * expire. Usage: java -cp CP HapiSend HOST PORT FILE...
 */
public final class HapiSend {
    private static final long ANSWER_TIMEOUT_MS = 15_000;
    private static final long SILENCE_MS = 400;

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: HapiSend HOST PORT FILE...");
            System.exit(2);
        }
        HapiContext ctx = new DefaultHapiContext(new GenericModelClassFactory());
        ctx.setValidationContext(ValidationContextFactory.noValidation());
        Parser parser = ctx.getPipeParser();
        Connection conn = ctx.newClient(args[0], Integer.parseInt(args[1]), false);
        Initiator initiator = conn.getInitiator();
        int failed = 0;
        try {
            for (int i = 2; i < args.length; i++) {
                if (!send(parser, initiator, Path.of(args[i]))) {
                    failed++;
                }
            }
        } finally {
            conn.close();
            ctx.close();
        }
        System.out.flush();
        System.exit(failed == 0 ? 0 : 1);
    }

    private static boolean send(Parser parser, Initiator initiator, Path file) {
        String text;
        try {
            text = read(file);
        } catch (Exception e) {
            System.out.println(file + "\tERROR\t\t" + e);
            return false;
        }
        if (!text.startsWith("FHS") && !text.startsWith("BHS")) {
            return sendOne(parser, initiator, file, text);
        }
        // HAPI's initiator sends messages, not batches: each message of
        // the batch goes on its own.
        boolean ok = true;
        for (String m : text.split("\r(?=MSH)")) {
            if (m.startsWith("MSH")) {
                ok &= sendOne(parser, initiator, file, m.replaceAll("\r(BTS|FTS)[^\r]*", ""));
            }
        }
        return ok;
    }

    private static boolean sendOne(Parser parser, Initiator initiator, Path file, String text) {
        String id = "";
        try {
            Message msg = parser.parse(text);
            Terser out = new Terser(msg);
            id = nz(out.get("/MSH-10"));
            String mode = nz(out.get("/MSH-15")).trim();
            boolean silent = mode.equals("NE") || mode.equals("ER");
            initiator.setTimeout(silent ? SILENCE_MS : ANSWER_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            Message ack;
            try {
                ack = initiator.sendAndReceive(msg);
            } catch (Exception e) {
                if (silent && isTimeout(e)) {
                    System.out.println(file + "\tNOANSWER\t" + id);
                    return true;
                }
                throw e;
            }
            Terser in = new Terser(ack);
            System.out.println(String.join("\t", file.toString(), "ACK", id,
                    nz(in.get("/MSA-1")), nz(in.get("/MSA-2")),
                    nz(in.get("/MSH-3")), nz(in.get("/MSH-4")), nz(in.get("/MSH-5")), nz(in.get("/MSH-6")),
                    nz(in.get("/MSH-12"))));
            return true;
        } catch (Exception e) {
            String reason = String.valueOf(e).replace('\t', ' ').replace('\r', ' ').replace('\n', ' ');
            System.out.println(file + "\tERROR\t" + id + "\t" + reason);
            return false;
        }
    }

    /** read decodes a file in its MSH-18 charset: ISO-8859-1 for 8859/1, else UTF-8. */
    private static String read(Path file) throws Exception {
        byte[] b = Files.readAllBytes(file);
        String latin = new String(b, StandardCharsets.ISO_8859_1);
        int eol = latin.indexOf('\r');
        String msh = eol < 0 ? latin : latin.substring(0, eol);
        Charset cs = msh.contains("8859/1") ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8;
        return new String(b, cs).replace("\r\n", "\r").replace('\n', '\r');
    }

    private static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String s = String.valueOf(t.getMessage()).toLowerCase();
            if (t instanceof java.util.concurrent.TimeoutException || s.contains("timeout") || s.contains("timed out")) {
                return true;
            }
        }
        return false;
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
