// HapiCheck validates FHIR R4 resources with HAPI FHIR's
// FhirInstanceValidator, offline (default profile support, in-memory
// terminology, common code systems, snapshot generation: the set-up of
// test/hapifhir and bench/hapival). Input, one resource a line:
//
//   LABEL<TAB>RESOURCE-JSON
//
// Output, per resource, its counts, then each error (ERROR or FATAL):
//
//   resource<TAB>LABEL<TAB>ERRORS<TAB>WARNINGS<TAB>INFORMATION
//   error<TAB>LABEL<TAB>LOCATION<TAB>MESSAGE
//
// and last "done<TAB>N". A validator exception is reported as an error.
//
//   java -cp CLASSPATH HapiCheck FILE
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.io.BufferedReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

public class HapiCheck {
	public static void main(String[] args) throws Exception {
		if (args.length != 1) {
			System.err.println("usage: HapiCheck FILE");
			System.exit(2);
		}
		FhirContext ctx = FhirContext.forR4();
		ValidationSupportChain chain = new ValidationSupportChain(
				new DefaultProfileValidationSupport(ctx),
				new InMemoryTerminologyServerValidationSupport(ctx),
				new CommonCodeSystemsTerminologyService(ctx),
				new SnapshotGeneratingValidationSupport(ctx));
		FhirValidator v = ctx.newValidator();
		v.registerValidatorModule(new FhirInstanceValidator(chain));
		PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
		int n = 0;
		try (BufferedReader in = Files.newBufferedReader(Path.of(args[0]), StandardCharsets.UTF_8)) {
			for (String line; (line = in.readLine()) != null;) {
				int tab = line.indexOf('\t');
				if (tab < 0) {
					continue;
				}
				String label = line.substring(0, tab);
				StringBuilder errs = new StringBuilder();
				int errors = 0, warnings = 0, info = 0;
				try {
					ValidationResult r = v.validateWithResult(line.substring(tab + 1));
					for (SingleValidationMessage m : r.getMessages()) {
						ResultSeverityEnum s = m.getSeverity();
						if (s == ResultSeverityEnum.ERROR || s == ResultSeverityEnum.FATAL) {
							errors++;
							errs.append("error\t").append(label).append('\t').append(clean(m.getLocationString()))
									.append('\t').append(clean(m.getMessage())).append('\n');
						} else if (s == ResultSeverityEnum.WARNING) {
							warnings++;
						} else {
							info++;
						}
					}
				} catch (Exception e) {
					errors++;
					errs.append("error\t").append(label).append("\t-\t")
							.append(clean(e.getClass().getSimpleName() + ": " + e.getMessage())).append('\n');
				}
				out.print("resource\t" + label + "\t" + errors + "\t" + warnings + "\t" + info + "\n");
				out.print(errs);
				n++;
			}
		}
		out.print("done\t" + n + "\n");
		out.flush();
	}

	static String clean(String s) {
		return String.valueOf(s).replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
	}
}
