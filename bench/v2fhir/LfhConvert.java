// LfhConvert converts HL7 v2 messages to FHIR R4 transaction Bundles with
// LinuxForHealth's hl7v2-fhir-converter (HL7ToFHIRConverter, default
// templates) and prints one line per message file:
//
//   FILE<TAB>ok<TAB>BUNDLE-JSON       (the Bundle on one line)
//   FILE<TAB>error<TAB>REASON         (the converter threw or returned nothing)
//
// then, for the timed passes only, one line
//
//   cpu-ns<TAB>THREAD-NS<TAB>PROCESS-NS<TAB>MESSAGES<TAB>PASSES
//
// with the CPU time of ONE pass over all messages (the average of the timed
// passes): THREAD-NS is this thread's CPU time (the conversions alone),
// PROCESS-NS the whole JVM's (JIT and GC threads included). Every message
// is converted once untimed first, so the JIT and the converter's template
// caches are warm; then the messages are converted again and again until
// the timed passes have used at least -min-cpu-ms of thread CPU.
//
//   java -cp CLASSPATH LfhConvert [-min-cpu-ms N] FILE|DIR...
//
// A directory stands for the regular files in it, in name order. Line
// endings are normalised to the segment separator \r before conversion.
import io.github.linuxforhealth.hl7.ConverterOptions;
import io.github.linuxforhealth.hl7.HL7ToFHIRConverter;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.hl7.fhir.r4.model.Bundle;

public class LfhConvert {
	public static void main(String[] args) throws Exception {
		long minCpuMs = 2000;
		List<File> files = new ArrayList<>();
		for (int i = 0; i < args.length; i++) {
			if (args[i].equals("-min-cpu-ms") && i + 1 < args.length) {
				minCpuMs = Long.parseLong(args[++i]);
				continue;
			}
			File f = new File(args[i]);
			if (f.isDirectory()) {
				File[] in = f.listFiles(File::isFile);
				Arrays.sort(in);
				files.addAll(Arrays.asList(in));
			} else {
				files.add(f);
			}
		}
		if (files.isEmpty()) {
			System.err.println("usage: LfhConvert [-min-cpu-ms N] FILE|DIR...");
			System.exit(2);
		}
		List<String> messages = new ArrayList<>();
		for (File f : files) {
			String s = new String(Files.readAllBytes(f.toPath()), StandardCharsets.ISO_8859_1);
			messages.add(s.replace("\r\n", "\r").replace('\n', '\r').strip());
		}
		HL7ToFHIRConverter conv = new HL7ToFHIRConverter();
		ConverterOptions opts = new ConverterOptions.Builder().withBundleType(Bundle.BundleType.TRANSACTION).build();

		StringBuilder out = new StringBuilder();
		for (int i = 0; i < files.size(); i++) {
			out.append(files.get(i).getPath()).append('\t');
			try {
				String json = conv.convert(messages.get(i), opts);
				if (json == null || json.isEmpty()) {
					out.append("error\tno Bundle");
				} else {
					out.append("ok\t").append(json.replace("\n", "").replace("\r", ""));
				}
			} catch (Exception | StackOverflowError e) {
				String why = e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage());
				out.append("error\t").append(why.replace('\n', ' ').replace('\r', ' ').replace('\t', ' '));
			}
			out.append('\n');
		}
		System.out.print(out);
		System.out.flush();

		ThreadMXBean mx = ManagementFactory.getThreadMXBean();
		com.sun.management.OperatingSystemMXBean os =
				(com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
		long t0 = mx.getCurrentThreadCpuTime(), p0 = os.getProcessCpuTime();
		int passes = 0;
		do {
			for (String m : messages) {
				try {
					conv.convert(m, opts);
				} catch (Exception | StackOverflowError e) {
					// counted in the time like a conversion: the first pass printed it
				}
			}
			passes++;
		} while (mx.getCurrentThreadCpuTime() - t0 < minCpuMs * 1_000_000L);
		long thread = mx.getCurrentThreadCpuTime() - t0, process = os.getProcessCpuTime() - p0;
		System.out.println("cpu-ns\t" + thread / passes + "\t" + process / passes + "\t" + messages.size() + "\t" + passes);
	}
}
