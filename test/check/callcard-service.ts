import { build, type TestService } from '../support/helper.js';

/** callcard itself as the service under test: one contact, Alexa Holiday on +41 21 552 20 00. */
export async function startCallcard(): Promise<{ service: TestService; url: string }> {
  const service = await build();
  try {
    await service.importCsv(
      'id,name,company,contact_uri,phone,email\n' +
        'c1,Alexa Holiday,White Cross Co,https://crm.example/c/1,+41 21 552 20 00,alexa@example.com\n',
    );
    await service.app.listen({ port: 0, host: '127.0.0.1' });
    const address = service.app.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('no port');
    return { service, url: `http://127.0.0.1:${address.port}` };
  } catch (error) {
    await service.close();
    throw error;
  }
}
