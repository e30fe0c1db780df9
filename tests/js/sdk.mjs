// The AWS SDK for JavaScript v3, unchanged, against a served emulator: run by tests/test_javascript_sdk.py,
// one scenario per run, in the environment `serve` prints (AWS_ENDPOINT_URL, dummy credentials, region).
// Prints what the test checks: a line `RESULT {json}`; a failure exits non-zero with the error.
//
//     node sdk.mjs SCENARIO NAME [ARGUMENT ...]

import {
  CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DeleteEndpointCommand,
  DeleteEndpointConfigCommand, DeleteModelCommand, DescribeEndpointCommand, SageMakerClient,
  paginateListEndpoints, waitUntilEndpointDeleted, waitUntilEndpointInService,
} from "@aws-sdk/client-sagemaker";
import {
  InvokeEndpointAsyncCommand, InvokeEndpointCommand, InvokeEndpointWithResponseStreamCommand,
  SageMakerRuntimeClient,
} from "@aws-sdk/client-sagemaker-runtime";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { readFile } from "node:fs/promises";

const ECHO = "sagemaker-emulator/echo:1";
const ROLE = "arn:aws:iam::123456789012:role/emulator";
const ROW = "Biscoe,50.0,15.2,218,5700,male";
const WAIT = { minDelay: 1, maxDelay: 1, maxWaitTime: 600 };

// Clients as a user builds them: endpoint, region and credentials come from the environment.
const sagemaker = new SageMakerClient({ maxAttempts: 1 });
const runtime = new SageMakerRuntimeClient({ maxAttempts: 1 });
const s3 = new S3Client({ forcePathStyle: true, maxAttempts: 1 }); // a bucket in the path: no DNS per bucket

async function deploy(name, model, endpointConfig = {}) {
  await sagemaker.send(new CreateModelCommand({ ModelName: name, ExecutionRoleArn: ROLE, ...model }));
  await sagemaker.send(new CreateEndpointConfigCommand({
    EndpointConfigName: name, ...endpointConfig,
    ProductionVariants: [{ VariantName: "AllTraffic", ModelName: name, InitialInstanceCount: 1, InstanceType: "ml.m5.large" }],
  }));
  await sagemaker.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: name }));
  const waited = await waitUntilEndpointInService({ client: sagemaker, ...WAIT }, { EndpointName: name });
  return waited.state;
}

async function remove(name) {
  await sagemaker.send(new DeleteEndpointCommand({ EndpointName: name }));
  const waited = await waitUntilEndpointDeleted({ client: sagemaker, ...WAIT }, { EndpointName: name });
  await sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: name }));
  await sagemaker.send(new DeleteModelCommand({ ModelName: name }));
  return waited.state;
}

async function invoke(name, body, contentType) {
  const answer = await runtime.send(new InvokeEndpointCommand({
    EndpointName: name, Body: body, ContentType: contentType, Accept: contentType,
  }));
  return { body: new TextDecoder().decode(answer.Body), contentType: answer.ContentType,
           variant: answer.InvokedProductionVariant, requestId: answer.$metadata.requestId };
}

async function upload(bucket, key, path) {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(path) }));
  return `s3://${bucket}/${key}`;
}

async function createBucket(bucket) {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}

const scenarios = {
  // One container: create, the InService waiter, invoke, delete with the deleted waiter.
  async single(name) {
    const state = await deploy(name, { PrimaryContainer: { Image: ECHO } });
    const answer = await invoke(name, '{"island": "Biscoe"}', "application/json");
    const described = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: name }));
    return { state, answer, status: described.EndpointStatus, deleted: await remove(name) };
  },

  // The example pipeline, its model data uploaded with the S3 client: preprocessor, then model.
  async pipeline(name, artifacts) {
    await createBucket(name);
    const preprocessor = await upload(name, "preprocessor/model.tar.gz", `${artifacts}/preprocessor/model.tar.gz`);
    const model = await upload(name, "model/model.tar.gz", `${artifacts}/model/model.tar.gz`);
    const state = await deploy(name, {
      Containers: [
        { Image: "sagemaker-emulator/example-preprocessor:1", ModelDataUrl: preprocessor,
          Environment: { SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT: "text/csv" } },
        { Image: "sagemaker-emulator/example-model:1", ModelDataUrl: model,
          Environment: { SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT: "application/json" } },
      ],
      InferenceExecutionConfig: { Mode: "Serial" },
    });
    const answer = await invoke(name, ROW, "text/csv");
    return { state, answer, deleted: await remove(name) };
  },

  // InvokeEndpointWithResponseStream: the event stream's PayloadParts, as they arrive.
  async streaming(name) {
    await deploy(name, { PrimaryContainer: { Image: ECHO, Environment: { ECHO_STREAM_DELAY_SECONDS: "0.2" } } });
    const started = Date.now();
    const answer = await runtime.send(new InvokeEndpointWithResponseStreamCommand({
      EndpointName: name, Body: "the penguins of Biscoe island", ContentType: "text/plain", Accept: "text/plain",
    }));
    const parts = [];
    for await (const event of answer.Body) {
      if (event.PayloadPart) parts.push({ at: Date.now() - started, text: new TextDecoder().decode(event.PayloadPart.Bytes) });
    }
    return { parts, contentType: answer.ContentType, variant: answer.InvokedProductionVariant, deleted: await remove(name) };
  },

  // InvokeEndpointAsync: 202 at once, the answer then appears in the embedded S3.
  async asynchronous(name) {
    await createBucket(name);
    await s3.send(new PutObjectCommand({ Bucket: name, Key: "in/penguin.json", Body: '{"island": "Dream"}' }));
    await deploy(name, { PrimaryContainer: { Image: ECHO } },
                 { AsyncInferenceConfig: { OutputConfig: { S3OutputPath: `s3://${name}/out/` } } });
    const answer = await runtime.send(new InvokeEndpointAsyncCommand({
      EndpointName: name, InputLocation: `s3://${name}/in/penguin.json`, ContentType: "application/json",
    }));
    const key = answer.OutputLocation.slice(`s3://${name}/`.length);
    const deadline = Date.now() + 60000;
    for (;;) {
      try {
        const output = await s3.send(new GetObjectCommand({ Bucket: name, Key: key }));
        const body = await output.Body.transformToString();
        return { inferenceId: answer.InferenceId, outputLocation: answer.OutputLocation, body,
                 status: answer.$metadata.httpStatusCode, deleted: await remove(name) };
      } catch (error) {
        if (error.name !== "NoSuchKey" || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  },

  // Typed errors: a container's 500 is ModelError with OriginalStatusCode; an unknown endpoint ValidationError.
  async errors(name) {
    await deploy(name, { PrimaryContainer: { Image: ECHO, Environment: { ECHO_STATUS: "500" } } });
    const caught = {};
    for (const [label, endpoint] of [["model", name], ["validation", `${name}-missing`]]) {
      try {
        await invoke(endpoint, "{}", "application/json");
        caught[label] = null;
      } catch (error) {
        caught[label] = { name: error.name, status: error.$metadata?.httpStatusCode, fault: error.$fault,
                          originalStatusCode: error.OriginalStatusCode, logStreamArn: error.LogStreamArn,
                          message: error.message, requestId: error.$metadata?.requestId };
      }
    }
    try {
      await sagemaker.send(new DescribeEndpointCommand({ EndpointName: `${name}-missing` }));
      caught.control = null;
    } catch (error) {
      caught.control = { name: error.name, status: error.$metadata?.httpStatusCode, message: error.message };
    }
    return { ...caught, deleted: await remove(name) };
  },

  // paginateListEndpoints over three endpoints, one per page.
  async paginator(name) {
    const names = [`${name}-a`, `${name}-b`, `${name}-c`];
    for (const each of names) await deploy(each, { PrimaryContainer: { Image: ECHO } });
    const pages = [];
    for await (const page of paginateListEndpoints({ client: sagemaker, pageSize: 1 }, { NameContains: name, SortBy: "Name", SortOrder: "Ascending" })) {
      pages.push(page.Endpoints.map((endpoint) => endpoint.EndpointName));
    }
    for (const each of names) await remove(each);
    return { pages };
  },
};

const [scenario, ...args] = process.argv.slice(2);
try {
  const result = await scenarios[scenario](...args);
  console.log(`\nRESULT ${JSON.stringify(result)}`);
} catch (error) {
  console.error(`${scenario} failed: ${error.name}: ${error.message}`, error.$metadata ?? "", error.stack);
  process.exit(1);
}
