"""The API key every test server and test client uses."""

TEST_API_KEY = "test-api-key-5f1c0e7a9b"
