// HapiVal validates FHIR R4 JSON files with HAPI FHIR's FhirInstanceValidator
// (default profile support, in-memory terminology, common code systems,
// snapshot generation: offline, as issue 14 ran it) and prints one line per
// file, "path<TAB>errors<TAB>warnings", then "cpu-ns<TAB>N" for the CPU
// time of the timed pass. Every file is validated once untimed (the JIT and
// the validator's caches warm up), then once timed on this thread.
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;

public class HapiVal {
	public static void main(String[] args) throws Exception {
		FhirContext ctx = FhirContext.forR4();
		ValidationSupportChain chain = new ValidationSupportChain(
				new DefaultProfileValidationSupport(ctx),
				new InMemoryTerminologyServerValidationSupport(ctx),
				new CommonCodeSystemsTerminologyService(ctx),
				new SnapshotGeneratingValidationSupport(ctx));
		FhirValidator v = ctx.newValidator();
		v.registerValidatorModule(new FhirInstanceValidator(chain));
		List<String> bodies = new ArrayList<>();
		for (String a : args) {
			bodies.add(new String(Files.readAllBytes(Path.of(a)), StandardCharsets.UTF_8));
		}
		for (String b : bodies) {
			run(v, b);
		}
		ThreadMXBean mx = ManagementFactory.getThreadMXBean();
		long start = mx.getCurrentThreadCpuTime();
		int[][] counts = new int[bodies.size()][];
		for (int i = 0; i < bodies.size(); i++) {
			counts[i] = run(v, bodies.get(i));
		}
		long cpu = mx.getCurrentThreadCpuTime() - start;
		for (int i = 0; i < args.length; i++) {
			System.out.println(args[i] + "\t" + counts[i][0] + "\t" + counts[i][1]);
		}
		System.out.println("cpu-ns\t" + cpu + "\t" + bodies.size());
	}

	// run returns {errors, warnings}; a validator exception counts as an error.
	static int[] run(FhirValidator v, String body) {
		int errors = 0, warnings = 0;
		try {
			ValidationResult r = v.validateWithResult(body);
			for (SingleValidationMessage m : r.getMessages()) {
				if (m.getSeverity() == ResultSeverityEnum.ERROR || m.getSeverity() == ResultSeverityEnum.FATAL) {
					errors++;
				} else if (m.getSeverity() == ResultSeverityEnum.WARNING) {
					warnings++;
				}
			}
		} catch (Exception e) {
			errors++;
		}
		return new int[] {errors, warnings};
	}
}
