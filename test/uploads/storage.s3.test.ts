import { S3UploadStorage } from '../../src/modules/uploads/uploads.storage.s3';
import { startS3 } from './s3rver';
import { uploadStorageContract } from './storage.contract';

uploadStorageContract('s3 (s3rver)', async () => {
  const s3 = await startS3();
  const storage = new S3UploadStorage(s3.settings);
  return {
    storage,
    close: async () => {
      storage.close();
      await s3.stop();
    },
  };
});
