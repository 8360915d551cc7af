// Interop drives the gateway's FHIR REST door with HAPI FHIR's generic
// client, with its default settings (it reads [base]/metadata before its
// first request and checks the FHIR version), and validates the
// CapabilityStatement with HAPI's instance validator, offline.
//
//   java -cp CLASSPATH Interop BASE_URL
//
// Each check prints "ok NAME" or "FAIL NAME: why"; facts the Go test checks
// against the Kafka records print as "fact KEY VALUE". Exit status 1 when a
// check failed.

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.instance.model.api.IBaseOperationOutcome;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Enumerations;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;

public class Interop {
	static int failures = 0;

	interface Check {
		void run() throws Exception;
	}

	static void check(String name, Check c) {
		try {
			c.run();
			System.out.println("ok " + name);
		} catch (Throwable t) {
			failures++;
			System.out.println("FAIL " + name + ": " + t.getClass().getSimpleName() + ": " + String.valueOf(t.getMessage()).replace('\n', ' '));
		}
	}

	static void expect(boolean cond, String why) {
		if (!cond) {
			throw new AssertionError(why);
		}
	}

	static void fact(String key, String value) {
		System.out.println("fact " + key + " " + value);
	}

	public static void main(String[] args) throws Exception {
		if (args.length != 1) {
			System.err.println("usage: Interop BASE_URL");
			System.exit(2);
		}
		String base = args[0];
		FhirContext ctx = FhirContext.forR4();
		IGenericClient client = ctx.newRestfulGenericClient(base); // default settings

		check("capability read", () -> capability(client));
		check("capability validates under HAPI's FhirInstanceValidator", () -> validateCapability(ctx, base));
		check("create", () -> create(client));
		check("update", () -> update(client));
		check("delete", () -> delete(client));
		check("conditional create is refused 412 with an OperationOutcome", () -> conditionalCreate(client));
		check("versioned update (If-Match) is refused 412", () -> versionedUpdate(client));
		check("an invalid resource is 422 with a FHIR OperationOutcome", () -> invalid(client));
		check("transaction", () -> transaction(client));
		check("batch", () -> batch(client));
		check("read is 405", () -> refused(405, () -> client.read().resource(Patient.class).withId("interop-update").execute()));
		check("search is 405", () -> refused(405, () -> client.search().forResource(Patient.class).returnBundle(Bundle.class).execute()));
		check("a client set to XML is refused 406 with an OperationOutcome", () -> {
			IGenericClient xml = ctx.newRestfulGenericClient(base);
			xml.setEncoding(ca.uhn.fhir.rest.api.EncodingEnum.XML);
			expectIssue(refused(406, () -> xml.create().resource(patient("Xml")).execute()), "not-supported");
		});
		System.exit(failures == 0 ? 0 : 1);
	}

	static void capability(IGenericClient client) {
		CapabilityStatement cs = client.capabilities().ofType(CapabilityStatement.class).execute();
		expect(cs.getFhirVersion() == Enumerations.FHIRVersion._4_0_1, "fhirVersion " + cs.getFhirVersion());
		expect(cs.getRest().size() == 1, "rest " + cs.getRest().size());
		CapabilityStatement.CapabilityStatementRestComponent rest = cs.getRest().get(0);
		List<String> sys = new ArrayList<>();
		rest.getInteraction().forEach(i -> sys.add(i.getCode().toCode()));
		expect(sys.contains("transaction") && sys.contains("batch") && sys.size() == 2, "system interactions " + sys);
		CapabilityStatement.CapabilityStatementRestResourceComponent patient = null;
		for (CapabilityStatement.CapabilityStatementRestResourceComponent r : rest.getResource()) {
			if (r.getType().equals("Patient")) {
				patient = r;
			}
		}
		expect(patient != null, "no Patient resource");
		List<String> codes = new ArrayList<>();
		patient.getInteraction().forEach(i -> codes.add(i.getCode().toCode()));
		expect(codes.equals(List.of("create", "update", "delete")), "Patient interactions " + codes);
		expect(!patient.getConditionalCreate() && !patient.getConditionalUpdate(), "conditional create/update declared");
		expect(patient.getConditionalDelete().toCode().equals("not-supported"), "conditionalDelete " + patient.getConditionalDelete());
		fact("capability.resources", String.valueOf(rest.getResource().size()));
	}

	static void validateCapability(FhirContext ctx, String base) throws Exception {
		HttpResponse<String> resp = HttpClient.newHttpClient().send(
				HttpRequest.newBuilder(URI.create(base + "/metadata")).header("Accept", "application/fhir+json").build(),
				HttpResponse.BodyHandlers.ofString());
		expect(resp.statusCode() == 200, "GET metadata " + resp.statusCode());
		ValidationSupportChain chain = new ValidationSupportChain(
				new DefaultProfileValidationSupport(ctx),
				new InMemoryTerminologyServerValidationSupport(ctx),
				new CommonCodeSystemsTerminologyService(ctx),
				new SnapshotGeneratingValidationSupport(ctx));
		FhirValidator v = ctx.newValidator();
		v.registerValidatorModule(new FhirInstanceValidator(chain));
		ValidationResult r = v.validateWithResult(resp.body());
		int errors = 0, warnings = 0;
		StringBuilder why = new StringBuilder();
		for (SingleValidationMessage m : r.getMessages()) {
			if (m.getSeverity() == ResultSeverityEnum.ERROR || m.getSeverity() == ResultSeverityEnum.FATAL) {
				errors++;
				why.append(" [").append(m.getLocationString()).append(": ").append(m.getMessage()).append("]");
			} else if (m.getSeverity() == ResultSeverityEnum.WARNING) {
				warnings++;
				System.err.println("validator warning: " + m.getLocationString() + ": " + m.getMessage());
			}
		}
		fact("capability.validator.errors", String.valueOf(errors));
		fact("capability.validator.warnings", String.valueOf(warnings));
		expect(errors == 0, errors + " errors:" + why);
	}

	static Patient patient(String family) {
		Patient p = new Patient();
		p.addName().setFamily(family).addGiven("Interop");
		p.addIdentifier().setSystem("urn:oid:1.2.36.146.595.217.0.1").setValue(UUID.randomUUID().toString());
		return p;
	}

	static void create(IGenericClient client) {
		MethodOutcome o = client.create().resource(patient("Create")).execute();
		expect(Boolean.TRUE.equals(o.getCreated()), "not created");
		IdType id = (IdType) o.getId();
		expect(id.hasIdPart() && id.hasVersionIdPart(), "Location " + id);
		Patient back = (Patient) o.getResource();
		expect(back != null, "no resource in the answer");
		expect(back.getIdElement().getIdPart().equals(id.getIdPart()), "answer id " + back.getIdElement());
		expect(id.getVersionIdPart().equals(back.getMeta().getVersionId()), "meta.versionId " + back.getMeta().getVersionId() + " vs " + id.getVersionIdPart());
		expect(back.getMeta().getLastUpdated() != null, "no meta.lastUpdated");
		fact("create.id", id.getIdPart());
		fact("create.version", id.getVersionIdPart());
	}

	static void update(IGenericClient client) {
		Patient p = patient("Update");
		p.setId("interop-update");
		MethodOutcome o = client.update().resource(p).execute();
		IdType id = (IdType) o.getId();
		expect(id.getIdPart().equals("interop-update") && id.hasVersionIdPart(), "Location " + id);
		fact("update.version", id.getVersionIdPart());
	}

	static void delete(IGenericClient client) {
		MethodOutcome o = client.delete().resourceById(new IdType("Patient", "interop-delete")).execute();
		expect(o.getResponseStatusCode() == 200 || o.getResponseStatusCode() == 204, "status " + o.getResponseStatusCode());
	}

	static void conditionalCreate(IGenericClient client) {
		BaseServerResponseException e = refused(412, () -> client.create().resource(patient("Conditional")).conditional()
				.where(Patient.IDENTIFIER.exactly().systemAndIdentifier("urn:oid:1.2.36.146.595.217.0.1", "12345")).execute());
		expectIssue(e, "not-supported");
	}

	static void versionedUpdate(IGenericClient client) {
		Patient p = patient("Versioned");
		p.setId("interop-versioned");
		BaseServerResponseException e = refused(412, () -> client.update().resource(p).withAdditionalHeader("If-Match", "W/\"1\"").execute());
		expectIssue(e, "not-supported");
	}

	static void invalid(IGenericClient client) {
		Observation o = new Observation(); // status and code are required
		o.setSubject(new Reference("Patient/interop-update"));
		BaseServerResponseException e = refused(422, () -> client.create().resource(o).execute());
		OperationOutcome oo = expectIssue(e, "required");
		for (OperationOutcome.OperationOutcomeIssueComponent i : oo.getIssue()) {
			String text = i.getDiagnostics() + " " + i.getDetails().getText();
			expect(!text.contains("Segment") && !text.contains("HL7"), "HL7 vocabulary in a FHIR answer: " + text);
		}
	}

	static void transaction(IGenericClient client) {
		String pu = "urn:uuid:" + UUID.randomUUID(), eu = "urn:uuid:" + UUID.randomUUID(), ou = "urn:uuid:" + UUID.randomUUID();
		Bundle b = new Bundle();
		b.setType(Bundle.BundleType.TRANSACTION);
		b.addEntry().setFullUrl(pu).setResource(patient("Transaction")).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
		Encounter enc = new Encounter();
		enc.setStatus(Encounter.EncounterStatus.FINISHED);
		enc.setClass_(new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory"));
		enc.setSubject(new Reference(pu));
		b.addEntry().setFullUrl(eu).setResource(enc).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Encounter");
		Observation obs = new Observation();
		obs.setStatus(Observation.ObservationStatus.FINAL);
		obs.setCode(new CodeableConcept(new Coding("http://loinc.org", "8867-4", "Heart rate")));
		obs.setSubject(new Reference(pu));
		obs.setEncounter(new Reference(eu));
		b.addEntry().setFullUrl(ou).setResource(obs).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Observation");
		Bundle resp = client.transaction().withBundle(b).execute();
		expect(resp.getType() == Bundle.BundleType.TRANSACTIONRESPONSE, "type " + resp.getType());
		expect(resp.getEntry().size() == 3, "entries " + resp.getEntry().size());
		String[] names = {"patient", "encounter", "observation"};
		String[] urls = {pu, eu, ou};
		for (int i = 0; i < 3; i++) {
			Bundle.BundleEntryResponseComponent r = resp.getEntry().get(i).getResponse();
			expect(r.getStatus().startsWith("201"), "entry " + i + " status " + r.getStatus());
			IdType id = new IdType(r.getLocation());
			expect(id.hasIdPart() && id.hasVersionIdPart(), "entry " + i + " location " + r.getLocation());
			fact("transaction." + names[i], id.getResourceType() + "/" + id.getIdPart() + " " + urls[i]);
		}
	}

	static void batch(IGenericClient client) {
		Bundle b = new Bundle();
		b.setType(Bundle.BundleType.BATCH);
		b.addEntry().setFullUrl("urn:uuid:" + UUID.randomUUID()).setResource(patient("Batch")).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
		Observation bad = new Observation(); // invalid: no code
		bad.setStatus(Observation.ObservationStatus.FINAL);
		b.addEntry().setResource(bad).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Observation");
		Bundle resp = client.transaction().withBundle(b).execute();
		expect(resp.getType() == Bundle.BundleType.BATCHRESPONSE, "type " + resp.getType());
		expect(resp.getEntry().size() == 2, "entries " + resp.getEntry().size());
		Bundle.BundleEntryResponseComponent ok = resp.getEntry().get(0).getResponse();
		Bundle.BundleEntryResponseComponent no = resp.getEntry().get(1).getResponse();
		expect(ok.getStatus().startsWith("201"), "valid entry " + ok.getStatus());
		expect(no.getStatus().startsWith("422") && no.getOutcome() instanceof OperationOutcome, "invalid entry " + no.getStatus());
		fact("batch.patient", new IdType(ok.getLocation()).toUnqualifiedVersionless().getValue());
	}

	interface Call {
		void run();
	}

	// refused runs call and expects the server to refuse it with status.
	static BaseServerResponseException refused(int status, Call call) {
		try {
			call.run();
		} catch (BaseServerResponseException e) {
			expect(e.getStatusCode() == status, "status " + e.getStatusCode() + ", want " + status + ": " + e.getMessage());
			return e;
		}
		throw new AssertionError("accepted, want " + status);
	}

	static OperationOutcome expectIssue(BaseServerResponseException e, String code) {
		IBaseOperationOutcome base = e.getOperationOutcome();
		expect(base instanceof OperationOutcome, "no OperationOutcome in the answer");
		OperationOutcome oo = (OperationOutcome) base;
		expect(!oo.getIssue().isEmpty(), "OperationOutcome without issues");
		boolean found = false;
		for (OperationOutcome.OperationOutcomeIssueComponent i : oo.getIssue()) {
			found = found || i.getCode().toCode().equals(code);
		}
		expect(found, "no issue of type " + code + " in " + oo.getIssueFirstRep().getCode().toCode());
		return oo;
	}
}
